#!/usr/bin/env bash
# generate.sh regenerates the key and certificate fixtures of package auth
# with the OpenSSL command line (written with OpenSSL 3.0). Run it from any
# directory; it writes next to itself. The files are checked in: the tests
# never run it.
#
# Every encrypted key uses the password below, the same as testPassword in
# auth/key_test.go:
#
#	petrel-test-password
#
# One key per type (RSA 2048, ECDSA P-256, Ed25519), each with a self-signed
# certificate; every encrypted file holds that same key, so each one matches
# its type's certificate.
#
#	<type>.key                      PKCS#8 "PRIVATE KEY", unencrypted
#	<type>.crt                      self-signed certificate
#	<type>.pem                      certificate then key, one file
#	rsa-pkcs1.key, ecdsa-sec1.key   traditional, unencrypted
#	<type>-pkcs8-aes<N>-<prf>.key   PKCS#8 PBES2, PBKDF2 with hmacWith<PRF>
#	rsa-genpkey-aes256.key          as written by openssl genpkey -aes256
#	rsa-pkcs8-des3-sha256.key       PKCS#8 PBES2 with DES-EDE3-CBC
#	ecdsa-pkcs8-aes256-sha512.key   PKCS#8 PBES2 with hmacWithSHA512
#	<type>-legacy-<cipher>.key      "Proc-Type: 4,ENCRYPTED" with DEK-Info
#	chain.pem                       CA cert, encrypted key, leaf cert (scrambled order)
#	unsupported-*.key               ciphers and KDFs package auth refuses
set -euo pipefail
cd "$(dirname "$0")"

pw=petrel-test-password
days=36500

rm -f ./*.key ./*.crt ./*.pem

# Base keys. The RSA one is written encrypted by genpkey, then decrypted.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes256 \
	-pass "pass:$pw" -out rsa-genpkey-aes256.key
openssl pkey -in rsa-genpkey-aes256.key -passin "pass:$pw" -out rsa.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecdsa.key
openssl genpkey -algorithm ED25519 -out ed25519.key

for t in rsa ecdsa ed25519; do
	openssl req -x509 -new -key "$t.key" -subj "/CN=petrel test $t" \
		-days "$days" -out "$t.crt"
	cat "$t.crt" "$t.key" >"$t.pem"
done

# Traditional (PKCS#1, SEC1), unencrypted.
openssl rsa -in rsa.key -traditional -out rsa-pkcs1.key
openssl ec -in ecdsa.key -out ecdsa-sec1.key

# PKCS#8 PBES2: every AES key size with each PRF.
for t in rsa ecdsa ed25519; do
	for n in 128 192 256; do
		for prf in sha256 sha1; do
			openssl pkcs8 -topk8 -in "$t.key" -v2 "aes-$n-cbc" \
				-v2prf "hmacWith${prf^^}" -passout "pass:$pw" \
				-out "$t-pkcs8-aes$n-$prf.key"
		done
	done
done
openssl pkcs8 -topk8 -in rsa.key -v2 des-ede3-cbc -passout "pass:$pw" \
	-out rsa-pkcs8-des3-sha256.key
openssl pkcs8 -topk8 -in ecdsa.key -v2 aes-256-cbc -v2prf hmacWithSHA512 \
	-passout "pass:$pw" -out ecdsa-pkcs8-aes256-sha512.key

# Legacy OpenSSL encryption (Ed25519 has no traditional format).
for c in aes128 aes192 aes256 des3; do
	openssl rsa -in rsa.key -traditional "-$c" -passout "pass:$pw" \
		-out "rsa-legacy-$c.key"
	openssl ec -in ecdsa.key "-$c" -passout "pass:$pw" \
		-out "ecdsa-legacy-$c.key"
done

# A two-certificate chain with an encrypted key, in a scrambled order:
# CA certificate, key, leaf certificate.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.tmp
openssl req -x509 -new -key ca.tmp -subj "/CN=petrel test CA" \
	-days "$days" -out ca.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-aes128 -pass "pass:$pw" -out leaf.tmp
openssl req -new -key leaf.tmp -passin "pass:$pw" \
	-subj "/CN=petrel test leaf" -out leaf.csr
openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.tmp -set_serial 2 \
	-days "$days" -out leaf.crt
cat ca.crt leaf.tmp leaf.crt >chain.pem
rm -f ca.tmp leaf.tmp leaf.csr ca.crt leaf.crt

# Encryptions package auth does not implement; each must name itself.
openssl pkcs8 -topk8 -in ecdsa.key -v2 aria-128-cbc -passout "pass:$pw" \
	-out unsupported-pkcs8-aria128.key
openssl pkcs8 -topk8 -in ecdsa.key -scrypt -passout "pass:$pw" \
	-out unsupported-pkcs8-scrypt.key
openssl ec -in ecdsa.key -camellia128 -passout "pass:$pw" \
	-out unsupported-legacy-camellia128.key
