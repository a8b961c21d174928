"""The request limits of the chat API: the one source for the handler's models and the gateway's model.

Standard library only: chat/api.py loads this file by path to write API Gateway's request model, so
the gateway and the handler refuse by the same numbers. String lengths count characters (code points), as
pydantic does and as JSON Schema defines maxLength.
"""

NAME_MAX_LENGTH = 64
COMMENT_MAX_LENGTH = 1000
MAX_POSITION = 86_400
# The smallest magnitude DynamoDB stores other than zero ("Positive range: 1E-130 to 9.99...E+125", DynamoDB
# Developer Guide, Supported data types and naming rules): a smaller position would fail its PutItem or Query.
MIN_NONZERO_POSITION = 1e-130
# A POST body's bytes as sent. The largest valid body, every character of its name and comment escaped as
# a UTF-16 surrogate pair (12 bytes each), is under 13 KB; the rest is room for insignificant whitespace.
MAX_BODY_BYTES = 16 * 1024
