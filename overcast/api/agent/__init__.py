"""The controller's agent API under /agent/v1/: what `overcast agent` processes on other hosts
call (every AgentStore call, as POST /agent/v1/<call>), plus the long-poll GET
/agent/v1/changes. A host authenticates with its credential and reads and changes only its own
instances, specs and jobs (Kubernetes' NodeRestriction is the model)."""

from overcast.api.agent.app import AgentApi

__all__ = ["AgentApi"]
