# The "after" column of docs/src/switching.md, kept word for word: tests written for moto and
# LocalStack, moved to auth-mock-server. .ci/python-wheel.sh runs them.
import json
import os
import re
import urllib.request

import boto3
import pytest
from auth_mock_server import CognitoMock


@pytest.fixture(scope="module")
def cognito_mock():
    # A server of this module's own (not in the guide): the resets below must not wipe the
    # session server's demo pool, which the other test files use.
    mock = CognitoMock.start()
    mock.export_environment()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture(autouse=True)
def fresh_state(cognito_mock):
    yield
    # moto's server-mode reset, answered by auth-mock-server too (it forgets every pool,
    # the demo pool included, so put the state your tests share back afterwards).
    endpoint = os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))


def test_admin_created_user_signs_in():  # was: @mock_aws
    idp = boto3.client("cognito-idp")  # the endpoint comes from the environment
    pool_id = idp.create_user_pool(PoolName="test")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password="Passw0rd!", Permanent=True)
    answer = idp.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Passw0rd!"},
    )
    assert "IdToken" in answer["AuthenticationResult"]


def test_sign_up_code_from_the_sent_email():  # was: LocalStack
    idp = boto3.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="test", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=client_id, Username="bob", Password="Passw0rd!",
                UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    endpoint = os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]
    with urllib.request.urlopen(f"{endpoint}/_aws/ses?email=bob@example.com") as answer:
        email = json.load(answer)["messages"][-1]
    code = re.search(r"\d{6}", email["Body"]["text_part"]).group()  # "Your verification code is 123456."
    idp.confirm_sign_up(ClientId=client_id, Username="bob", ConfirmationCode=code)
    assert idp.admin_get_user(UserPoolId=pool_id, Username="bob")["UserStatus"] == "CONFIRMED"
