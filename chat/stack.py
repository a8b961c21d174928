"""The chat API stack: a thin composition of the chat constructs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from chat import access
from chat.api import ChatApi
from chat.config import ChatConfig
from chat.data import ChatData
from chat.monitoring import ChatAlarms
from chat.stream import ChatStream
from shared.alarms import AlarmTopic
from shared.grants import grant_table_access
from shared.python_function import powertools_layer
from stage.config_base import StageFacts


class ChatStack(Stack):
    """API Gateway -> Lambda -> DynamoDB comments of video chat rooms, with a stream consumer."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: ChatConfig, facts: StageFacts, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        layers = [powertools_layer(self, "Powertools")]
        data = ChatData(self, "Data", facts=facts)
        # Ids kept from before the classes had these names (new ids would replace the functions and their alarms):
        # "Comments" holds the REST API and its function, "RoomStats" the stream consumer and its dead letters.
        api = ChatApi(self, "Comments", config=config, data=data, layers=layers)
        stream = ChatStream(self, "RoomStats", config=config, data=data, layers=layers)

        # Exactly the calls each function's code makes (chat/access.py), on each table and index.
        grant_table_access(api.handler, data.comments, access.API_COMMENTS)
        grant_table_access(api.handler, data.idempotency, access.API_IDEMPOTENCY)
        grant_table_access(api.handler, data.room_stats, access.API_STATS)
        grant_table_access(stream.handler, data.room_stats, access.STREAM_STATS)

        topic = AlarmTopic(self, "Alarms", email=facts.alarm_email, email_parameter=facts.alarm_email_parameter)
        ChatAlarms(self, "Monitoring", config=config, topic=topic, api=api, stream=stream, data=data)

        CfnOutput(self, "ApiUrl", value=api.api.url, description="Base URL of the chat API")
        CfnOutput(self, "CommentsTableName", value=data.comments.table_name)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
