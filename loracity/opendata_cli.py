"""``loracity opendata ...``: write the open-data dumps the API serves and the catalogue lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Open data: CSV/Parquet dumps per dataset, day and month (served under /opendata).",
    no_args_is_help=True,
)


@app.command("export")
def export_command(
    out: Annotated[
        Path | None, typer.Option(help="Output directory (LORACITY_OPENDATA_DIR).")
    ] = None,
    grace_hours: Annotated[
        float, typer.Option(min=0, help="Hours after a period's end before it is closed for good.")
    ] = 1.0,
) -> None:
    """Write the dumps of every period with data; closed periods already written are kept
    byte for byte, open ones (today, this month) are rewritten. Run it from cron or a timer."""
    from datetime import timedelta

    import psycopg

    from loracity.cli import fail, load_settings
    from loracity.logs import configure_logging
    from lorawan.mqtt_url import redact
    from opendata.export import export

    settings = load_settings()
    configure_logging(fmt="text", level=settings.log_level)
    out_dir = out or settings.opendata_dir
    try:
        with psycopg.connect(settings.database_url, connect_timeout=10) as conn:
            report = export(
                conn=conn,
                out_dir=out_dir,
                rule=settings.privacy_rule(),
                timezone=settings.timezone,
                grace=timedelta(hours=grace_hours),
            )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        fail(f"cannot reach the database at {redact(settings.database_url)}: {reason}")
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc}")
    typer.echo(f"{len(report.written)} files written, {report.kept} closed files kept in {out_dir}")
