from drf_spectacular.extensions import OpenApiAuthenticationExtension


class MachineTokenScheme(OpenApiAuthenticationExtension):
    """Describes printer tokens in the OpenAPI schema (`Authorization: Token lwm_…`)."""

    target_class = "apps.machines.authentication.MachineTokenAuthentication"
    name = "machineToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A printer's token, shown once by `create_machine`: `Token lwm_…`.",
        }
