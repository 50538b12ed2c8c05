import baseConfig from '../../eslint.config.mjs';

const ARCHITECTURE = 'see docs/architecture.md, "Rules"';

/** Imports that make code depend on a framework, a cloud SDK or a network server. */
const FRAMEWORK_FREE = [
  {
    group: ['@nestjs/*', '@pra-kit/shared/nest'],
    message: `the backup domain is framework-free: no NestJS here, it belongs in http/ (${ARCHITECTURE}).`,
  },
  {
    group: ['@aws-sdk/*'],
    message: `the backup domain does not know S3: the S3 store lives in stores/ and is injected (${ARCHITECTURE}).`,
  },
  {
    group: ['http', 'https', 'node:http', 'node:https'],
    message: `the backup domain serves and calls no HTTP: that is http/ and stores/ (${ARCHITECTURE}).`,
  },
];

/** The agent's outer folders, which core/ (and replication/) must not reach into. */
const OUTER_FOLDERS = {
  regex: String.raw`^(\.\./)+(stores|offsite|http|scheduler|cli|replication|config)(/|$)|(^|/)agent\.factory$|(^|/)main$`,
  message: `the backup domain imports only infra/ and @pra-kit/shared: what it needs from stores/, offsite/ and the rest is passed in through its ports (${ARCHITECTURE}).`,
};

/**
 * The agent's layering (docs/architecture.md): core/ and replication/ hold the domain and stay
 * framework-free; their tests may assemble real adapters, their code may not import them. Paths are
 * relative to this file: Nx runs `eslint .` in apps/backup-agent with this config.
 */
function agentLayering() {
  const src = 'src';
  const domain = [`${src}/core/**/*.ts`, `${src}/replication/**/*.ts`];
  const specs = ['**/*.spec.ts', '**/*.contract.ts'];
  return [
    {
      files: domain,
      ignores: specs,
      rules: { 'no-restricted-imports': ['error', { patterns: [...FRAMEWORK_FREE, OUTER_FOLDERS] }] },
    },
    {
      files: domain.map((glob) => glob.replace('*.ts', '*.spec.ts')),
      rules: { 'no-restricted-imports': ['error', { patterns: FRAMEWORK_FREE }] },
    },
    {
      // The scheduler gets its settings and its skip counter injected: it does not reach into http/.
      files: [`${src}/scheduler/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: String.raw`^(\.\./)+(http|cli)(/|$)`,
                message: `the scheduler gets what it needs injected; it does not import http/ or cli/ (${ARCHITECTURE}).`,
              },
            ],
          },
        ],
      },
    },
  ];
}

export default [...baseConfig, ...agentLayering()];
