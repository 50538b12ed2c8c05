# Plugins for Packer >= 1.7: `packer init deploy/packer` installs them.
#
# Kept apart from images.pkr.hcl on purpose: Packer 1.6 (Debian 12's package) does not know
# required_plugins and has the docker builder built in, so it builds images.pkr.hcl on its own:
#   packer build -var image_tag=1.0 deploy/packer/images.pkr.hcl
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    docker = {
      source  = "github.com/hashicorp/docker"
      version = ">= 1.0.8"
    }
  }
}
