"""`shoal user|token|project ...`: who may use a shared shoal, and in which projects.

Thin over `shoal.services.users` and `shoal.services.projects` (and `services.alerts` for a
project's default alert rules). The command line on its own database is the machine's owner (an
instance admin): these commands prepare the users and tokens that the REST API will accept.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import Column, console, err_console, fmt_time, handle_errors, plain, print_json, print_rows
from shoal.cli._options import JsonOpt

users_app = typer.Typer(no_args_is_help=True, help="Users of a shared shoal (instance admins, project members).")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: create (shown once), list, revoke.")
projects_app = typer.Typer(no_args_is_help=True, help="Projects and their members (viewer, editor, admin).")

USER_COLUMNS = (
    Column("user", lambda u: plain(u.name), whole=True),
    Column("admin", lambda u: "yes" if u.is_admin else "-", whole=True),
    Column("projects", lambda u: plain(", ".join(f"{p} ({r})" for p, r in u.projects.items()) or "-")),
    Column("created", lambda u: fmt_time(u.created_at), min_width=10, drop=1),
)
TOKEN_COLUMNS = (
    Column("id", lambda t: str(t.id), whole=True),
    Column("user", lambda t: plain(t.user), whole=True),
    Column("name", lambda t: plain(t.name or "-")),
    Column("starts with", lambda t: plain(t.prefix + "…"), whole=True, drop=3),
    Column("state", lambda t: t.state, whole=True),
    Column("expires", lambda t: fmt_time(t.expires_at), min_width=10, drop=2),
    Column("last used", lambda t: fmt_time(t.last_used_at), min_width=10, drop=1),
)
PROJECT_COLUMNS = (
    Column("project", lambda p: plain(p.name), whole=True),
    Column("members", lambda p: plain(", ".join(f"{u} ({r})" for u, r in p.members.items()) or "-")),
    Column("created", lambda p: fmt_time(p.created_at), min_width=10, drop=1),
)


def _store(create: bool = False):  # type: ignore[no-untyped-def]
    from shoal.cli._store import store

    return store(create=create)


@users_app.command("add")
@handle_errors
def user_add(
    name: Annotated[str, typer.Argument(help="the user's name (letters, digits, _ . @ -)")],
    admin: Annotated[bool, typer.Option("--admin", help="an instance admin: may do anything")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Add a user; give them a token (`shoal token create NAME`) and a role in a project."""
    u = services.users.add_user(_store(create=True), name, admin=admin)
    if json_out:
        print_json(u.to_json())
        return
    console.print(f"user {escape(u.name)} added" + (" (instance admin)" if u.is_admin else ""))


@users_app.command("list")
@handle_errors
def user_list(json_out: JsonOpt = False) -> None:
    """Users with the projects they are members of."""
    print_rows(services.users.list_users(_store()), USER_COLUMNS, json_out)


@users_app.command("remove")
@handle_errors
def user_remove(name: Annotated[str, typer.Argument(help="the user")]) -> None:
    """Remove a user with their tokens and memberships."""
    services.users.remove_user(_store(), name)
    console.print(f"user {escape(name)} removed; their tokens no longer work")


@tokens_app.command("create")
@handle_errors
def token_create(
    user: Annotated[str, typer.Argument(help="whose token")],
    name: Annotated[str, typer.Option("--name", help="what it is for, e.g. 'ci'")] = "",
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", metavar="DURATION", help="e.g. 30d, 12h (default: until revoked)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an API token: it is printed this once; only its hash is kept."""
    t = services.users.create_token(_store(), user, name=name, expires_in=expires_in)
    if json_out:
        print_json(t.to_json())
        return
    until = f"until {fmt_time(t.info.expires_at)} UTC" if t.info.expires_at else "until revoked"
    err_console.print(f"token {t.info.id} for {escape(user)}, valid {until}; it is shown this once:")
    console.print(t.token, markup=False, highlight=False)


@tokens_app.command("list")
@handle_errors
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="only this user's tokens")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Tokens with their state (active, expired, revoked); never their secrets."""
    print_rows(services.users.list_tokens(_store(), user=user), TOKEN_COLUMNS, json_out)


@tokens_app.command("revoke")
@handle_errors
def token_revoke(token_id: Annotated[int, typer.Argument(help="the token's id (`shoal token list`)")]) -> None:
    """Revoke a token: requests with it are refused from now on."""
    t = services.users.revoke_token(_store(), token_id)
    console.print(f"token {t.id} of {escape(t.user)} revoked")


@projects_app.command("create")
@handle_errors
def project_create(name: Annotated[str, typer.Argument(help="the project's name")], json_out: JsonOpt = False) -> None:
    """Create an empty project."""
    p = services.projects.create_project(_store(create=True), name)
    if json_out:
        print_json(p.to_json())
        return
    console.print(f"project {escape(p.name)} created")


@projects_app.command("list")
@handle_errors
def project_list(json_out: JsonOpt = False) -> None:
    """Projects with their members and roles."""
    print_rows(services.projects.list_projects(_store()), PROJECT_COLUMNS, json_out)


@projects_app.command("add-member")
@handle_errors
def project_add_member(
    project: Annotated[str, typer.Argument(help="the project")],
    user: Annotated[str, typer.Argument(help="the user")],
    role: Annotated[str, typer.Option("--role", help="viewer, editor or admin")] = "viewer",
) -> None:
    """Give a user a role in a project (or change it)."""
    services.projects.add_member(_store(), project, user, role)
    console.print(f"{escape(user)} is {escape(role.lower())} of project {escape(project)}")


@projects_app.command("remove-member")
@handle_errors
def project_remove_member(
    project: Annotated[str, typer.Argument(help="the project")],
    user: Annotated[str, typer.Argument(help="the user")],
) -> None:
    """Take a user's role in a project away."""
    services.projects.remove_member(_store(), project, user)
    console.print(f"{escape(user)} is no longer a member of project {escape(project)}")


@projects_app.command("alerts")
@handle_errors
def project_alerts(
    project: Annotated[str, typer.Argument(help="the project")],
    file: Annotated[str | None, typer.Option(
        "--file", metavar="PATH",
        help="set the rules from a YAML/JSON file (a list, or `alerts:` as in a workflow)")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove the project's default rules")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show, set (--file) or clear (--clear) a project's default alert rules: its workflows
    without `alerts:` of their own follow them (docs/alerts.md).

    Example: shoal project alerts fraud --file alerts.yaml
    """
    from shoal.errors import InvalidInput

    if file is not None and clear:
        raise InvalidInput("give --file or --clear, not both")
    s = _store()
    if clear:
        result = services.alerts.clear_project_alerts(s, project)
    elif file is not None:
        result = services.alerts.set_project_alerts(s, project, services.alerts.load_rules(file), source=file)
    else:
        result = services.alerts.project_alerts(s, project)
    if json_out:
        print_json(result)
        return
    if file is not None or clear:
        what = f"{len(result.alerts)} default alert rule(s)" if result.alerts else "no default alert rules"
        console.print(f"project {escape(project)} has {what} now")
        return
    if not result.alerts:
        console.print(f"project {escape(project)} has no default alert rules (set them with --file)")
        return
    import json

    console.print(json.dumps(result.alerts, indent=2), markup=False, highlight=False)
