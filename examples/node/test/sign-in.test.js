import {
  CognitoIdentityProviderClient,
  GetUserCommand,
  InitiateAuthCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { expect, test } from "vitest";

test("the demo user signs in with USER_PASSWORD_AUTH", async () => {
  // No endpoint here: the SDK reads AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER and AWS_REGION.
  const cognito = new CognitoIdentityProviderClient({});
  const { AuthenticationResult } = await cognito.send(
    new InitiateAuthCommand({
      ClientId: process.env.COGNITO_CLIENT_ID,
      AuthFlow: "USER_PASSWORD_AUTH",
      AuthParameters: {
        USERNAME: process.env.COGNITO_USERNAME,
        PASSWORD: process.env.COGNITO_PASSWORD,
      },
    }),
  );
  expect(AuthenticationResult.TokenType).toBe("Bearer");
  const user = await cognito.send(new GetUserCommand({ AccessToken: AuthenticationResult.AccessToken }));
  expect(user.Username).toBe("demo");
});
