"""runas-meta's ES256 (P-256 ECDSA in plain Python, for aws login's DPoP
proofs) against `cryptography` (test-only): RFC 6979's published P-256
vectors, our signatures verified there for generated keys and for keys in
both PEM forms (SEC1 and PKCS#8), and keys we make read there, their public
point the one cryptography derives, its signatures verified with it."""

import base64
import hashlib
import json
import unittest

from e2e._peers import need

need("cryptography")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature  # noqa: E402

import runas_meta as rm  # noqa: E402

# RFC 6979, A.2.5: ECDSA, 256 bits (prime field), with SHA-256
RFC6979_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_PUBLIC = (0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6,
                  0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299)
RFC6979_VECTORS = {  # message: (k, r, s)
    b"sample": (0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
                0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
                0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8),
    b"test": (0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
              0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
              0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083)}


def verify_with_cryptography(public, message, signature):
    key = ec.EllipticCurvePublicNumbers(public[0], public[1], ec.SECP256R1()).public_key()
    key.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")),
               message, ec.ECDSA(hashes.SHA256()))


class ES256AgainstCryptography(unittest.TestCase):
    def test_rfc6979_vectors(self):
        key = rm.P256Key(RFC6979_KEY)
        self.assertEqual(key.public, RFC6979_PUBLIC)
        for message, (k, r, s) in RFC6979_VECTORS.items():
            self.assertEqual(rm.rfc6979_nonce(RFC6979_KEY, hashlib.sha256(message).digest()), k)
            signature = key.sign(message)
            self.assertEqual(signature, r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            verify_with_cryptography(key.public, message, signature)

    def test_keys_cryptography_makes_in_both_pem_forms_sign_for_it(self):
        for form in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8):
            for _ in range(5):
                theirs = ec.generate_private_key(ec.SECP256R1())
                pem = theirs.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()
                ours = rm.P256Key.from_pem(pem)
                numbers = theirs.public_key().public_numbers()
                self.assertEqual(ours.public, (numbers.x, numbers.y))
                message = b"header.claims %r" % form
                signature = ours.sign(message)
                self.assertEqual(len(signature), 64)  # constant size: r and s padded to 32 bytes
                verify_with_cryptography(ours.public, message, signature)

    def test_keys_we_make_are_read_there_and_its_signatures_verify_with_our_point(self):
        for _ in range(5):
            ours = rm.P256Key.generate()
            theirs = serialization.load_pem_private_key(ours.to_pem().encode(), None)
            self.assertEqual(theirs.private_numbers().private_value, ours.secret)
            numbers = theirs.public_key().public_numbers()
            self.assertEqual((numbers.x, numbers.y), ours.public)  # our public point is the curve's
            der = theirs.sign(b"from cryptography", ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            verify_with_cryptography(ours.public, b"from cryptography",
                                     r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def test_a_dpop_proof_verifies_with_its_own_jwk(self):
        key = rm.P256Key.generate()
        proof = rm.dpop_proof(key, "https://us-east-1.signin.aws.amazon.com/v1/token", 1700000000)
        header_b64, claims_b64, signature_b64 = proof.split(".")

        def decode(text):
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        header, claims = json.loads(decode(header_b64)), json.loads(decode(claims_b64))
        self.assertEqual((header["typ"], header["alg"], header["jwk"]["crv"]), ("dpop+jwt", "ES256", "P-256"))
        self.assertEqual((claims["htm"], claims["htu"], claims["iat"]),
                         ("POST", "https://us-east-1.signin.aws.amazon.com/v1/token", 1700000000))
        public = (int.from_bytes(decode(header["jwk"]["x"]), "big"), int.from_bytes(decode(header["jwk"]["y"]), "big"))
        verify_with_cryptography(public, ("%s.%s" % (header_b64, claims_b64)).encode(), decode(signature_b64))
        self.assertNotEqual(json.loads(decode(rm.dpop_proof(key, "u", 1).split(".")[1]))["jti"],
                            json.loads(decode(rm.dpop_proof(key, "u", 1).split(".")[1]))["jti"])


if __name__ == "__main__":
    unittest.main()
