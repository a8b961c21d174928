"""What each chat function's code calls on the tables: all it is granted (the TableAccessDeclared rule flags more).

- chat_api (chat/runtime/chat_api/chat_api/repository.py): PutItem of a comment, Query of a user's comments on the
  table and of a room on each of the two indexes; GetItem of a room's view or counter and BatchGetItem of its
  counter shards on the stats table. Its idempotency records go through Powertools' DynamoDBPersistenceLayer,
  which calls GetItem, PutItem, UpdateItem and DeleteItem (aws_lambda_powertools/utilities/idempotency/
  persistence/dynamodb.py).
- chat_stream (chat/runtime/chat_stream/chat_stream/repository.py): TransactWriteItems of markers (Put) and counters
  (Update), authorised as PutItem and UpdateItem ("Permissions for Put, Update, Delete, and Get actions are
  governed by the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem operations",
  DynamoDB Developer Guide, Using IAM with DynamoDB transactions); GetItem and PutItem of a room's view;
  BatchGetItem of its counters. Its stream reads come from the event source mapping (chat/stream.py).
"""

from __future__ import annotations

from chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX
from shared.grants import TableAccess

_QUERY = ("dynamodb:Query",)

API_COMMENTS = TableAccess(
    table=("dynamodb:PutItem", "dynamodb:Query"), indexes={ROOM_TIME_INDEX: _QUERY, ROOM_POSITION_INDEX: _QUERY}
)
API_STATS = TableAccess(table=("dynamodb:BatchGetItem", "dynamodb:GetItem"))
API_IDEMPOTENCY = TableAccess(
    table=("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
)
STREAM_STATS = TableAccess(
    table=("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
)
