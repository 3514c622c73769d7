"""Users, API tokens, projects and schedules over the API."""

from __future__ import annotations

from typing import Any

from shoal.services.names import DEFAULT_PROJECT
from shoal.services.projects import ProjectInfo
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face
from shoal.services.schedules import ScheduleChange, ScheduleInfo
from shoal.services.users import NewToken, TokenInfo, UserInfo

__all__ = ["Projects", "Schedules", "Users"]


class Users(Face):
    def add_user(self, store: Any, name: str, *, admin: bool = False) -> UserInfo:
        return decode(UserInfo, self.api.post("/users", {"name": name, "admin": admin}))

    def list_users(self, store: Any) -> list[UserInfo]:
        return decode(list[UserInfo], self.api.get("/users"))

    def remove_user(self, store: Any, name: str) -> None:
        self.api.request("DELETE", f"/users/{part(name)}")

    def create_token(self, store: Any, user: str, *, name: str = "", expires_in: str | None = None) -> NewToken:
        answer = dict(self.api.post("/tokens", {"user": user, "name": name, "expires_in": expires_in}))
        secret = answer.pop("token")  # the answer is the token's info with its secret beside it
        return NewToken(decode(TokenInfo, answer), secret)

    def list_tokens(self, store: Any, *, user: str | None = None) -> list[TokenInfo]:
        return decode(list[TokenInfo], self.api.get("/tokens", user=user))

    def revoke_token(self, store: Any, token_id: int) -> TokenInfo:
        return decode(TokenInfo, self.api.request("DELETE", f"/tokens/{token_id}").json())


class Projects(Face):
    def create_project(self, store: Any, name: str) -> ProjectInfo:
        return decode(ProjectInfo, self.api.post("/projects", {"name": name}))

    def list_projects(self, store: Any) -> list[ProjectInfo]:
        return decode(list[ProjectInfo], self.api.get("/projects"))

    def add_member(self, store: Any, project: str, user: str, role: str) -> ProjectInfo:
        answer = self.api.request("PUT", f"/projects/{part(project)}/members", json={"user": user, "role": role})
        return decode(ProjectInfo, answer.json())

    def remove_member(self, store: Any, project: str, user: str) -> ProjectInfo:
        answer = self.api.request("DELETE", f"/projects/{part(project)}/members/{part(user)}")
        return decode(ProjectInfo, answer.json())


class Schedules(Face):
    def list_schedules(self, store: Any, *, project: str | None = None) -> list[ScheduleInfo]:
        return decode(list[ScheduleInfo], self.api.get("/schedules", project=project))

    def pause(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> ScheduleInfo:
        return self._set(name, project, "pause")

    def resume(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> ScheduleInfo:
        return self._set(name, project, "resume")

    def _set(self, name: str, project: str, action: str) -> ScheduleInfo:
        path = f"/projects/{part(project)}/workflows/{part(name)}/schedule/{action}"
        return decode(ScheduleInfo, self.api.post(path))

    def set_schedule(self, store: Any, name: str, schedule: Any, *, project: str = DEFAULT_PROJECT) -> ScheduleChange:
        body = schedule.model_dump(mode="json", exclude_defaults=True) if hasattr(schedule, "model_dump") else schedule
        answer = self.api.request("PUT", self._path(name, project), json=dict(body))
        return decode(ScheduleChange, answer.json())

    def remove_schedule(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> ScheduleChange:
        return decode(ScheduleChange, self.api.request("DELETE", self._path(name, project)).json())

    @staticmethod
    def _path(name: str, project: str) -> str:
        return f"/projects/{part(project)}/workflows/{part(name)}/schedule"
