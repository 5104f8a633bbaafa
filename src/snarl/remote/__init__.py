"""The dump of another running Python process: the agent inside it, and the client outside.

* :func:`start_agent` / :func:`stop_agent` (:mod:`snarl.remote.agent`): a thread in this
  process that answers ``snarl dump PID`` over a private Unix socket.
* :func:`fetch` → :class:`Fetched` and :func:`main_dump` (:mod:`snarl.remote.client`): reach
  another process by its agent, else by gdb injection, else by py-spy, and say which.
* The errors, one per exit code (:mod:`snarl.remote.errors`).
"""

from .agent import Agent as Agent
from .agent import start_agent as start_agent
from .agent import stop_agent as stop_agent
from .client import METHODS as METHODS
from .client import Fetched as Fetched
from .client import fetch as fetch
from .client import main_dump as main_dump
from .errors import AgentError as AgentError
from .errors import BadPid as BadPid
from .errors import BadReply as BadReply
from .errors import NoAnswer as NoAnswer
from .errors import NoMethod as NoMethod
from .errors import NoSuchProcess as NoSuchProcess
from .errors import NotPython as NotPython
from .errors import PermissionDenied as PermissionDenied
from .errors import RemoteError as RemoteError
from .errors import UnsupportedVersion as UnsupportedVersion

__all__ = [
    "METHODS",
    "Agent",
    "AgentError",
    "BadPid",
    "BadReply",
    "Fetched",
    "NoAnswer",
    "NoMethod",
    "NoSuchProcess",
    "NotPython",
    "PermissionDenied",
    "RemoteError",
    "UnsupportedVersion",
    "fetch",
    "main_dump",
    "start_agent",
    "stop_agent",
]
