# The pytest example of docs/src/using-in-ci.md, kept word for word: .ci/python-wheel.sh runs it.
import boto3


def test_password_sign_in(cognito_mock):
    # The fixture started the server and set AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
    # AWS_ENDPOINT_URL_COGNITO_IDENTITY, a region and dummy credentials for this session.
    idp = boto3.client("cognito-idp")
    answer = idp.initiate_auth(
        ClientId=cognito_mock.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": cognito_mock.username, "PASSWORD": cognito_mock.password},
    )
    access_token = answer["AuthenticationResult"]["AccessToken"]
    assert idp.get_user(AccessToken=access_token)["Username"] == cognito_mock.username
