"""The ``train``, ``inspect`` and ``convert`` subcommands (placeholder until wired up)."""


def add_commands(sub) -> None:
    pass
