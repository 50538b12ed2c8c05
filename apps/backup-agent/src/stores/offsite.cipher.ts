import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { BackupCorruptError, EncryptionKeyError } from '../core/errors';

/**
 * Client-side encryption of offsite copies (AES-256-GCM), so that a leaked bucket leaks no data.
 *
 * Object format, version 1 (all of it is what the bucket stores as `<id>.db`):
 *
 *   offset 0   8 bytes   magic "PRAKENC1"
 *   offset 8   8 bytes   key id: the first 8 bytes of SHA-256("pra-kit offsite key id\0" || key)
 *   offset 16  12 bytes  IV, random for every object (never reused with a key)
 *   offset 28  n bytes   ciphertext of the n-byte backup
 *   end - 16   16 bytes  GCM authentication tag
 *
 * The 28-byte header and the backup id are authenticated (GCM additional data), so an object cannot
 * be passed off as another backup, and any modified byte fails the tag check. The key id lets a
 * restore tell "wrong key" (a configuration problem) from "modified object" (a corrupt backup)
 * before it reads anything; it reveals nothing usable about a 256-bit random key.
 *
 * Both directions stream: memory stays constant whatever the backup size. The decryptor releases
 * plaintext before the tag is checked at the end (GCM cannot do otherwise when streaming): callers
 * write it to a temp file and use it only when the stream ended without error.
 */
export const ENCRYPTION_ALGORITHM = 'aes-256-gcm';
const MAGIC = Buffer.from('PRAKENC1', 'ascii');
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const ENCRYPTION_HEADER_BYTES = MAGIC.length + KEY_ID_BYTES + IV_BYTES;
/** Bytes an encrypted object has on top of its plaintext. */
export const ENCRYPTION_OVERHEAD_BYTES = ENCRYPTION_HEADER_BYTES + TAG_BYTES;

export class OffsiteCipher {
  /** Hex key id, also stored as object metadata (`key-id`). */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError(`an AES-256 key is 32 bytes, got ${key.length}`);
    this.keyId = keyIdOf(key).toString('hex');
  }

  /** Size of the object that `encryptor` produces for a backup of `plainSize` bytes. */
  static encryptedSize(plainSize: number): number {
    return plainSize + ENCRYPTION_OVERHEAD_BYTES;
  }

  /** A stream that turns the backup's bytes into the object format above. */
  encryptor(backupId: string): Transform {
    const iv = randomBytes(IV_BYTES);
    const header = Buffer.concat([MAGIC, Buffer.from(this.keyId, 'hex'), iv]);
    const cipher = createCipheriv(ENCRYPTION_ALGORITHM, this.key, iv);
    cipher.setAAD(additionalData(header, backupId));
    let headerSent = false;
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        done(null, cipher.update(chunk));
      },
      flush(done) {
        if (!headerSent) this.push(header);
        this.push(cipher.final());
        done(null, cipher.getAuthTag());
      },
    });
  }

  /**
   * A stream that turns a stored object back into the backup's bytes. An object that does not
   * start with the magic is a plaintext copy (uploaded before encryption was turned on) and passes
   * through unchanged: its sha256 is checked against the manifest like any other.
   */
  static decryptor(cipher: OffsiteCipher | null, backupId: string, where: string): Transform {
    return new DecryptStream(cipher, backupId, where);
  }

  /** Opens the GCM decipher for an object whose header was read; throws when the key is wrong. */
  openDecipher(header: Buffer, backupId: string, where: string) {
    const storedKeyId = header.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES).toString('hex');
    if (storedKeyId !== this.keyId) {
      throw new EncryptionKeyError(
        'ENCRYPTION_KEY_MISMATCH',
        `backup ${backupId} in ${where} was encrypted with another key (key id ${storedKeyId}); ` +
          `S3_ENCRYPTION_KEY has key id ${this.keyId}: set the key it was uploaded with. Nothing was changed`,
      );
    }
    const decipher = createDecipheriv(
      ENCRYPTION_ALGORITHM,
      this.key,
      header.subarray(MAGIC.length + KEY_ID_BYTES),
    );
    decipher.setAAD(additionalData(header, backupId));
    return decipher;
  }
}

/** True when `bytes` starts like an encrypted object. */
export function isEncryptedObject(bytes: Buffer): boolean {
  return bytes.length >= MAGIC.length && bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

function keyIdOf(key: Buffer): Buffer {
  return createHash('sha256')
    .update('pra-kit offsite key id\0')
    .update(key)
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

function additionalData(header: Buffer, backupId: string): Buffer {
  return Buffer.concat([header, Buffer.from(backupId, 'utf8')]);
}

/**
 * Reads the header, then deciphers while always holding back the last 16 bytes seen: they are the
 * tag, known to be the tag only when the stream ends.
 */
class DecryptStream extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private decipher: ReturnType<OffsiteCipher['openDecipher']> | null = null;
  private plaintext = false;
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly cipher: OffsiteCipher | null,
    private readonly backupId: string,
    private readonly where: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.plaintext) return done(null, chunk);
      if (!this.decipher) {
        this.head = Buffer.concat([this.head, chunk]);
        if (this.head.length < ENCRYPTION_HEADER_BYTES) return done();
        if (!this.start()) return done(null, this.head);
        chunk = this.head.subarray(ENCRYPTION_HEADER_BYTES);
      }
      const data = Buffer.concat([this.tail, chunk]);
      const keep = Math.min(TAG_BYTES, data.length);
      this.tail = Buffer.from(data.subarray(data.length - keep));
      done(
        null,
        (this.decipher as NonNullable<typeof this.decipher>).update(data.subarray(0, data.length - keep)),
      );
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.plaintext) return done();
      if (!this.decipher) {
        // Shorter than a header: plaintext, unless it claims to be encrypted.
        if (isEncryptedObject(this.head)) throw this.corrupt('it is shorter than an encryption header');
        return done(null, this.head);
      }
      if (this.tail.length < TAG_BYTES) throw this.corrupt('it ends before its authentication tag');
      this.decipher.setAuthTag(this.tail);
      done(null, this.decipher.final());
    } catch (err) {
      // final() throws when the tag does not authenticate the data: the object was modified.
      const known = err instanceof BackupCorruptError || err instanceof EncryptionKeyError;
      done(known ? err : this.corrupt('authentication failed: the object was modified or truncated'));
    }
  }

  /** Decides from the header: false = plaintext object; true = decipher ready. */
  private start(): boolean {
    if (!isEncryptedObject(this.head)) {
      this.plaintext = true;
      return false;
    }
    if (!this.cipher) {
      throw new EncryptionKeyError(
        'ENCRYPTION_KEY_MISSING',
        `backup ${this.backupId} in ${this.where} is encrypted, but S3_ENCRYPTION_KEY is not set. Nothing was changed`,
      );
    }
    this.decipher = this.cipher.openDecipher(
      this.head.subarray(0, ENCRYPTION_HEADER_BYTES),
      this.backupId,
      this.where,
    );
    return true;
  }

  private corrupt(reason: string): BackupCorruptError {
    return new BackupCorruptError(this.backupId, `offsite object in ${this.where}: ${reason}`);
  }
}
