"""The `opsloop` command: one sub-command or group per module."""

from __future__ import annotations

import typer

from opsloop.cli import demo, importer, metric, properties, query, serve, spend, user, workspace

app = typer.Typer(
    name="opsloop",
    help="OpsLoop (运营闭环平台): operations platform for internet products",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.add_typer(workspace.app, name="workspace")
app.add_typer(user.app, name="user")
app.add_typer(user.token_app, name="token")
app.command("demo")(demo.demo)
app.command("demo-data")(demo.demo_data)
app.command("import")(importer.import_)
app.command("query")(query.query)
app.add_typer(properties.app, name="property")
app.add_typer(metric.app, name="metric")
app.add_typer(spend.app, name="spend")


if __name__ == "__main__":
    app()
