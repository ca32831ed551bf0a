#!/bin/sh
# Regenerates the fixtures with imgtool 2.5.0 (the workspace's .venv).
set -e
IMG=${IMGTOOL:-../../../../.venv/bin/imgtool}
python3 -c 'import sys; sys.stdout.buffer.write(bytes(32) + bytes((i * 7 + 3) & 0xff for i in range(1000)))' > app.bin
for t in ed25519 ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072; do
  $IMG keygen -k $t.pem -t $t
  $IMG getpub -k $t.pem -e raw > $t.pub.der
done
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k ed25519.pem app.bin ed25519.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k ed25519.pem --pure app.bin ed25519-pure.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k ecdsa-p256.pem --pad-sig app.bin ecdsa-p256.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k ecdsa-p384.pem app.bin ecdsa-p384.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k rsa-2048.pem -s auto -d "(1,0.5.0+0)" app.bin rsa-2048.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -k rsa-3072.pem --public-key-format full app.bin rsa-3072.bin
$IMG sign -H 0x20 --align 4 -S 0x4000 -v 1.2.3+4 -s 7 --custom-tlv 0xa0 0x0102 app.bin unsigned.bin
