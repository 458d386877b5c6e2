"""PDU definitions, shared by client and server (as in the original project)."""
import json

MSG_TYPE_LOGIN_REQUEST = 1
MSG_TYPE_LOGIN_RESPONSE = 2
MSG_TYPE_CHAT_MESSAGE = 3
MSG_TYPE_LOGOUT = 4
MSG_TYPE_ERROR = 5
MSG_TYPE_PING = 6
MSG_TYPE_VERSION_REQUEST = 7
MSG_TYPE_VERSION_RESPONSE = 8

AUTH_SUCCESS = 0
AUTH_FAILURE = 1

ERROR_SESSION_NOT_FOUND = 1
ERROR_TIMEOUT = 2
ERROR_ALREADY_LOGGED_IN = 3
ERROR_UNSUPPORTED_VERSION = 5

CURRENT_VERSION = "1.0.0"


class Datagram:
    def __init__(self, mtype, payload, version=CURRENT_VERSION, sz=0):
        self.mtype = mtype
        self.payload = payload
        self.version = version
        self.sz = sz or len(json.dumps(payload))

    def to_json(self):
        return json.dumps(self.__dict__)

    @staticmethod
    def from_json(json_str):
        return Datagram(**json.loads(json_str))

    def to_bytes(self):
        # the TCP form of the protocol: one object per line
        return (self.to_json() + "\n").encode("utf-8")

    @staticmethod
    def from_bytes(json_bytes):
        return Datagram.from_json(json_bytes.decode("utf-8"))
