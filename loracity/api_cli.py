"""``loracity api``: serve the HTTP API (and, as sub-commands, manage its keys)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="The urban-data HTTP API: `loracity api` serves it.",
    invoke_without_command=True,
)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (LORACITY_API_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (LORACITY_API_PORT).")] = None,
) -> None:
    """Serve the API until Ctrl-C or SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from api.app import create_app
    from loracity.cli import load_settings
    from loracity.logs import configure_logging

    settings = load_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    uvicorn.run(
        create_app(settings=settings),
        host=host or settings.api_host,
        port=port if port is not None else settings.api_port,
        log_config=None,  # keep loracity's own logging (JSON lines by default)
        access_log=False,  # request counts and latencies are in /metrics
        proxy_headers=True,
        # Live board streams (SSE) never end by themselves: without a limit a shutdown would
        # wait for every connected phone. Clients reconnect to the next process.
        timeout_graceful_shutdown=5,
    )


keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="read | write | admin")],
    label: Annotated[str, typer.Option(help="What the key is for (shown in `list`).")] = "",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from loracity.cli import connect, fail, load_settings
    from storage.api_keys import ROLES, create_key

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    with connect(load_settings()) as conn:
        key, key_id = create_key(conn=conn, role=role, label=label)
    typer.echo(key)
    typer.echo(f"key {key_id} ({role}) created; it is shown only now, store it safely", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (id, prefix, role, label, created, revoked); never the keys themselves."""
    from loracity.cli import connect, load_settings
    from storage.api_keys import list_keys

    with connect(load_settings()) as conn:
        rows = list_keys(conn=conn)
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        typer.echo(
            f"{row.id}\t{row.prefix}…\t{row.role}\t{row.label}\t"
            f"{row.created_at:%Y-%m-%d %H:%M}\t{revoked}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `list`).")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from loracity.cli import connect, fail, load_settings
    from storage.api_keys import revoke_key

    with connect(load_settings()) as conn:
        if not revoke_key(conn=conn, key_id=key_id):
            fail(f"no active key with id {key_id} (`loracity api keys list` shows them)")
    typer.echo(f"key {key_id} revoked")
