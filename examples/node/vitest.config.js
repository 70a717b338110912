import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./cognito-mock.js"],
  },
});
