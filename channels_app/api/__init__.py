"""The memory opened to other systems: a REST API and a Model Context Protocol server, both
reading through the gate as the calling client's actor."""
