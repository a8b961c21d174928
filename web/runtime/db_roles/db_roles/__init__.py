"""Deploy-time set-up of the web app's own, least-privileged database role (a CloudFormation custom resource)."""
