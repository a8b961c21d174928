"""A POST body over the size bound is refused with a 413 JSON error before it is parsed, and stores nothing.

The gateway's model bounds each field (tests/chat: its maxLength and ranges); a body can still be
padded with whitespace JSON ignores, up to API Gateway's 10 MB, and reach the function: the handler refuses
anything over chat_api.limits.MAX_BODY_BYTES, which the largest valid body fits with room to spare.
"""

from __future__ import annotations

import json

from chat_api.limits import COMMENT_MAX_LENGTH, MAX_BODY_BYTES, MAX_POSITION, NAME_MAX_LENGTH
from tests.support.chat_backend import ChatBackend

# Every character of name and comment \u-escaped (an emoji as a surrogate pair, 12 bytes) and a position with
# every digit a float repr can have: the longest encoding of a valid body.
LARGEST = json.dumps({"name": "é" * NAME_MAX_LENGTH, "comment": "😀" * COMMENT_MAX_LENGTH, "position": 1 / 3})


def test_the_longest_encoding_of_a_valid_body_fits_the_bound() -> None:
    assert len(LARGEST.encode()) < MAX_BODY_BYTES
    assert 0 <= json.loads(LARGEST)["position"] <= MAX_POSITION


def test_the_largest_valid_body_is_stored(chat: ChatBackend, room: str) -> None:
    status, body = chat.call("POST", "rooms", room=room, raw_body=LARGEST)
    assert status == 201, body


def test_a_body_padded_past_the_bound_is_refused_with_a_json_413(chat: ChatBackend, room: str) -> None:
    stored = chat.count_comments()
    padded = '{"name": "alice", "comment": "hi", "position": 1}'.replace("1}", "1" + " " * MAX_BODY_BYTES + "}")
    assert json.loads(padded)["comment"] == "hi"  # valid JSON, only larger than any valid body needs to be
    status, body = chat.call("POST", "rooms", room=room, raw_body=padded)
    assert (status, body) == (413, {"message": f"body: larger than {MAX_BODY_BYTES} bytes"})
    assert chat.count_comments() == stored
