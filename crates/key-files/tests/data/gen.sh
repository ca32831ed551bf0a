#!/bin/sh
# Regenerates the fixtures with the workspace's pinned Python `cryptography`
# (the .venv scripts/test creates). Run from this directory.
set -e
PYTHON=${PYTHON:-../../../../.venv/bin/python}
rm -f ./*.pem
"$PYTHON" - <<'PY'
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519

PASSWORD = b"key-files test"  # README.md
PEM = s.Encoding.PEM

def write(name, data):
    with open(name, "wb") as f:
        f.write(data)

supported = {
    "rsa-2048": lambda: rsa.generate_private_key(65537, 2048),
    "rsa-3072": lambda: rsa.generate_private_key(65537, 3072),
    "rsa-4096": lambda: rsa.generate_private_key(65537, 4096),
    "ecdsa-p192": lambda: ec.generate_private_key(ec.SECP192R1()),
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "x25519": x25519.X25519PrivateKey.generate,
}
for name, generate in supported.items():
    key = generate()
    write(f"{name}.pkcs8.pem", key.private_bytes(PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    write(f"{name}.pkcs8-encrypted.pem",
          key.private_bytes(PEM, s.PrivateFormat.PKCS8, s.BestAvailableEncryption(PASSWORD)))
    write(f"{name}.spki.pem", key.public_key().public_bytes(PEM, s.PublicFormat.SubjectPublicKeyInfo))
    if name.startswith(("rsa", "ecdsa")):
        write(f"{name}.traditional.pem",
              key.private_bytes(PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))
    if name.startswith("rsa"):
        write(f"{name}.pkcs1-public.pem", key.public_key().public_bytes(PEM, s.PublicFormat.PKCS1))
    if name == "ecdsa-p256":
        write(f"{name}.legacy-encrypted.pem",
              key.private_bytes(PEM, s.PrivateFormat.TraditionalOpenSSL,
                                s.BestAvailableEncryption(PASSWORD)))

# Types no tool accepts, for the error paths.
write("ecdsa-p521.pkcs8.pem", ec.generate_private_key(ec.SECP521R1())
      .private_bytes(PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
write("ed448.pkcs8.pem", ed448.Ed448PrivateKey.generate()
      .private_bytes(PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
write("rsa-1024.traditional.pem", rsa.generate_private_key(65537, 1024)
      .private_bytes(PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))
PY

# OpenSSL's legacy PEM encryption with each cipher the loader decrypts,
# written by the openssl command (OpenSSL 3), password as above.
pass='pass:key-files test'
openssl rsa -in rsa-2048.traditional.pem -traditional -des3 -passout "$pass" \
    -out rsa-2048.legacy-des-ede3-cbc.pem
openssl rsa -in rsa-3072.traditional.pem -traditional -des -passout "$pass" \
    -out rsa-3072.legacy-des-cbc.pem 2>/dev/null
for bits in 128 192 256; do
    openssl ec -in ecdsa-p384.traditional.pem -aes$bits -passout "$pass" \
        -out ecdsa-p384.legacy-aes-$bits-cbc.pem 2>/dev/null
done
