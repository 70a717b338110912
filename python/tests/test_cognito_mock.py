"""The wheel as a Python project uses it: the `cognito_mock` fixture with boto3 and
pycognito's SRP sign-in. .ci/python-wheel.sh runs it against the installed wheel."""

import json
import os
import urllib.request

import boto3
from auth_mock_server import CognitoMock
from pycognito.aws_srp import AWSSRP

pytest_plugins = ["pytester"]


def test_boto3_reaches_the_mock_through_the_environment(cognito_mock):
    assert os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"] == cognito_mock.endpoint
    assert os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY"] == cognito_mock.endpoint
    idp = boto3.client("cognito-idp")  # no endpoint_url: botocore reads the variable
    pool = idp.describe_user_pool(UserPoolId=cognito_mock.user_pool_id)["UserPool"]
    assert pool["Id"] == "us-east-1_DemoPool1"
    assert cognito_mock.client_id == "democlient0000000000000001"


def test_pycognito_srp_sign_in_and_identity_pool_credentials(cognito_mock):
    idp = boto3.client("cognito-idp")
    tokens = AWSSRP(cognito_mock.username, cognito_mock.password, cognito_mock.user_pool_id,
                    cognito_mock.client_id, client=idp).authenticate_user()
    id_token = tokens["AuthenticationResult"]["IdToken"]
    assert idp.get_user(AccessToken=tokens["AuthenticationResult"]["AccessToken"])["Username"] == "demo"

    identity = boto3.client("cognito-identity")
    login = {f"cognito-idp.us-east-1.amazonaws.com/{cognito_mock.user_pool_id}": id_token}
    identity_id = identity.get_id(IdentityPoolId=cognito_mock.identity_pool_id, Logins=login)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=login)
    assert credentials["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_sign_up_with_the_delivered_code(cognito_mock):
    idp = boto3.client("cognito-idp")
    idp.sign_up(ClientId=cognito_mock.client_id, Username="pat", Password="Passw0rd!",
                UserAttributes=[{"Name": "email", "Value": "pat@example.com"}])
    delivered = cognito_mock.codes("pat")
    assert delivered["purpose"] == "signup"
    # LocalStack's view of the same email.
    with urllib.request.urlopen(f"{cognito_mock.endpoint}/_aws/ses?email=pat@example.com") as answer:
        messages = json.load(answer)["messages"]
    assert delivered["code"] in messages[-1]["Body"]["text_part"]
    idp.confirm_sign_up(ClientId=cognito_mock.client_id, Username="pat",
                        ConfirmationCode=delivered["code"])
    user = idp.admin_get_user(UserPoolId=cognito_mock.user_pool_id, Username="pat")
    assert user["UserStatus"] == "CONFIRMED"


def test_a_seed_file_replaces_the_demo_pool(pytester):
    pytester.makefile(".toml", seed="""
[[pools]]
name = "ci"
id = "eu-west-1_CiPool001"

[[pools.clients]]
name = "web"
id = "ciwebclient000000000000001"

[[pools.users]]
username = "zed"
password = "Zed-Passw0rd!"
""")
    pytester.makepyfile("""
import boto3

def test_seeded(cognito_mock):
    assert cognito_mock.user_pool_id == "eu-west-1_CiPool001"
    assert cognito_mock.client_id == "ciwebclient000000000000001"
    assert cognito_mock.username is None
    idp = boto3.client("cognito-idp")
    auth = idp.initiate_auth(ClientId=cognito_mock.client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "zed", "PASSWORD": "Zed-Passw0rd!"})
    assert "AccessToken" in auth["AuthenticationResult"]
""")
    result = pytester.runpytest_subprocess("--cognito-mock-seed", str(pytester.path / "seed.toml"))
    result.assert_outcomes(passed=1)


def test_reset_forgets_everything():
    # A server of its own: the session server's demo pool must stay for the other test files.
    with CognitoMock.start() as mock:
        mock.reset()
        idp = boto3.client("cognito-idp", endpoint_url=mock.endpoint, region_name=mock.region,
                           aws_access_key_id="test", aws_secret_access_key="test")
        assert idp.list_user_pools(MaxResults=10)["UserPools"] == []


def test_a_control_token_is_required_and_sent():
    from auth_mock_server import CognitoMock

    with CognitoMock.start(control_token="py-t0ken") as mock:
        assert mock.control("GET", "/_mock/health")["ok"]  # the object sends the token
        bare = urllib.request.Request(mock.endpoint + "/_mock/health")
        try:
            urllib.request.urlopen(bare, timeout=5)
            raise AssertionError("the control API answered without the token")
        except urllib.error.HTTPError as error:
            assert error.code == 401
