#!/usr/bin/env python3
"""Generates SRP test vectors for auth-srp with an independent client: pycognito's AWSSRP.

Usage: pip install pycognito==2024.5.1 && python3 generate.py > pycognito.json

The client side (A, the HKDF key, PASSWORD_CLAIM_SIGNATURE, SECRET_HASH, the TIMESTAMP
format, the device verifier) is computed by pycognito's own functions with fixed private
values. The server's B = (k*v + g^b) mod N is computed here with Python integers from the
textbook formula, so none of the expected values comes from the Rust code under test.
"""

import base64
import datetime
import hashlib
import hmac
import json

from pycognito import aws_srp
from pycognito.aws_srp import AWSSRP, N_HEX, G_HEX, pad_hex, hex_hash, hex_to_long

N = hex_to_long(N_HEX)
G = hex_to_long(G_HEX)
K = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))


class _NoClient:
    """AWSSRP wants a boto3 client; these vectors never talk to a server."""


def verifier(pool_name, user_id, password, salt_hex):
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode("utf-8")).hexdigest()
    x = hex_to_long(hex_hash(pad_hex(salt_hex) + inner))
    return x, pow(G, x, N)


def password_vector(pool_id, user_id, password, salt_hex, a, b, secret_block, timestamp):
    srp = AWSSRP(user_id, password, pool_id, "client", client=_NoClient())
    srp.small_a_value = a
    srp.large_a_value = srp.calculate_a()
    pool_name = pool_id.split("_")[1]
    x, v = verifier(pool_name, user_id, password, salt_hex)
    big_b = (K * v + pow(G, b, N)) % N
    key = srp.get_password_authentication_key(user_id, password, big_b, salt_hex)
    # Fix the TIMESTAMP that process_challenge would take from the wall clock.
    srp.get_cognito_formatted_timestamp = lambda _now: timestamp
    answer = srp.process_challenge(
        {
            "USERNAME": user_id,
            "USER_ID_FOR_SRP": user_id,
            "SALT": salt_hex,
            "SRP_B": f"{big_b:x}",
            "SECRET_BLOCK": secret_block,
        },
        {"USERNAME": user_id},
    )
    return {
        "pool_id": pool_id,
        "user_id": user_id,
        "password": password,
        "salt_hex": salt_hex,
        "a_hex": f"{a:x}",
        "b_hex": f"{b:x}",
        "secret_block": secret_block,
        "timestamp": timestamp,
        "expected": {
            "srp_a": srp.get_auth_params()["SRP_A"],
            "x_hex": f"{x:064x}",
            "verifier_hex": f"{v:x}",
            "srp_b": f"{big_b:x}",
            "u_hex": f"{aws_srp.calculate_u(srp.large_a_value, big_b):064x}",
            "hkdf_key_hex": key.hex(),
            "signature": answer["PASSWORD_CLAIM_SIGNATURE"],
        },
    }


def device_vector(device_group_key, device_key, secret_bytes, salt_bytes, a, b, secret_block, timestamp):
    # generate_hash_device draws the device secret (40 bytes) and then the salt (16 bytes)
    # from os.urandom; feed it fixed bytes instead.
    queue = [secret_bytes, salt_bytes]
    original = aws_srp.os.urandom
    aws_srp.os.urandom = lambda n: queue.pop(0)
    try:
        device_password, config = aws_srp.generate_hash_device(device_group_key, device_key)
    finally:
        aws_srp.os.urandom = original
    srp = AWSSRP(
        "user", "unused", "us-east-1_Pool", "client", client=_NoClient(),
        device_key=device_key, device_group_key=device_group_key, device_password=device_password,
    )
    srp.small_a_value = a
    srp.large_a_value = srp.calculate_a()
    salt_hex = base64.standard_b64decode(config["Salt"]).hex()
    v = hex_to_long(base64.standard_b64decode(config["PasswordVerifier"]).hex())
    big_b = (K * v + pow(G, b, N)) % N
    key = srp.get_device_authentication_key(device_group_key, device_key, device_password, big_b, salt_hex)
    msg = device_group_key.encode() + device_key.encode() + base64.standard_b64decode(secret_block) + timestamp.encode()
    signature = base64.standard_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return {
        "device_group_key": device_group_key,
        "device_key": device_key,
        "device_secret": device_password,
        "salt_bytes_hex": salt_bytes.hex(),
        "a_hex": f"{a:x}",
        "b_hex": f"{b:x}",
        "secret_block": secret_block,
        "timestamp": timestamp,
        "expected": {
            "config_salt": config["Salt"],
            "config_password_verifier": config["PasswordVerifier"],
            "srp_b": f"{big_b:x}",
            "hkdf_key_hex": key.hex(),
            "signature": signature,
        },
    }


def main():
    block = base64.standard_b64encode(bytes(range(32))).decode()
    long_block = base64.standard_b64encode(bytes((i * 37 + 11) % 256 for i in range(1000))).decode()
    vectors = [
        password_vector("us-east-1_ExAmPlE12", "alice", "Passw0rd!", "a3f1c2d4e5f60718293a4b5c6d7e8f90",
                        int("11" * 32, 16), int("22" * 32, 16), block, "Tue Mar 5 07:04:09 UTC 2024"),
        # A salt with the high bit set: padHex must prepend 00 before hashing.
        password_vector("eu-west-2_Zz9", "9f6c1d0e-6b7a-4c38-a1f7-3d2e5b4c6a10", "correct horse battery staple",
                        "00f3e2d1c0b9a8978685746352413020", int("3" * 256, 16), int("44" * 40, 16), long_block,
                        "Sun Dec 31 23:59:59 UTC 2023"),
        # Unicode in user id and password; an odd-length salt hex.
        password_vector("ap-south-1_Unicode7", "zoë@example.com", "pässwörd-密码-🔑", "abcdef1234567",
                        int("9" * 200, 16), int("5" * 64, 16), block, "Wed Feb 29 12:00:00 UTC 2024"),
        # Full-size random-looking a (1024 bits) and a high-bit salt without explicit 00.
        password_vector("us-west-2_A1b2C3d4E", "bob", "S3cure!pw", "ffeeddccbbaa99887766554433221100",
                        int(hashlib.sha512(b"a1").hexdigest() * 2, 16), int(hashlib.sha256(b"b1").hexdigest(), 16),
                        block, "Mon Jan 1 00:00:00 UTC 2024"),
    ]
    devices = [
        device_vector("-AbCdEfGh", "us-east-1_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", bytes(range(40)),
                      bytes(range(200, 216)), int("7" * 256, 16), int("66" * 32, 16), block,
                      "Fri Nov 8 09:10:11 UTC 2024"),
        device_vector("groupkey", "eu-west-1_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", bytes([255] * 40),
                      bytes([1] * 16), int("abc" * 80, 16), int("12" * 32, 16), long_block,
                      "Sat Jun 15 18:30:45 UTC 2030"),
    ]
    secret_hashes = [
        {"username": u, "client_id": c, "client_secret": s, "expected": AWSSRP.get_secret_hash(u, c, s)}
        for (u, c, s) in [
            ("alice", "abc123clientid", "s3cr3t"),
            ("zoë@example.com", "7f3k9client", "a-much-longer-client-secret-0123456789abcdef"),
            ("b6f1c2a4-0000-4e9b-8b1d-1234567890ab", "c", "x"),
        ]
    ]
    timestamps = [
        {"unix": int(dt.replace(tzinfo=datetime.timezone.utc).timestamp()),
         "expected": AWSSRP.get_cognito_formatted_timestamp(dt)}
        for dt in [
            datetime.datetime(2024, 3, 5, 7, 4, 9),
            datetime.datetime(2024, 12, 25, 23, 0, 1),
            datetime.datetime(1999, 1, 1, 0, 0, 0),
            datetime.datetime(2038, 1, 19, 3, 14, 8),
        ]
    ]
    print(json.dumps({
        "generator": "pycognito 2024.5.1 AWSSRP (tests/vectors/generate.py)",
        "password": vectors,
        "device": devices,
        "secret_hash": secret_hashes,
        "timestamp": timestamps,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
