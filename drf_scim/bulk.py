"""POST /Bulk (RFC 7644 §3.7): many operations, over any resource type, in one request.

Each operation is dispatched to the endpoint it names, exactly as if sent alone (so each is
atomic, authorised and tenant-scoped the same way), with ``bulkId:<id>`` references in its path
and data replaced by the ids of resources created earlier in the request. An operation waits
until what it references exists; when creations reference each other in a cycle, the first is
created without those references and replaced with them once the others exist (RFC 7644 §3.7.1).
"""

from __future__ import annotations

import json
import logging
from io import BytesIO
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.urls import Resolver404, resolve
from rest_framework.response import Response
from rest_framework.views import APIView

from .constants import BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA
from .exceptions import InvalidSyntax, InvalidValue, PayloadTooLarge, ServiceUnavailable, error_body
from .generics import SCIMGenericViewSet
from .reverse import ROOT_URL_NAME
from .settings import scim_settings
from .views import SCIMViewMixin, get_request_id

logger = logging.getLogger("drf_scim")
METHODS = ("POST", "PUT", "PATCH", "DELETE")
PREFIX = "bulkId:"
# What an operation may do: create on a resource type's endpoint, replace, modify and delete on a resource's.
RESOURCE_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}
NOT_FOUND_URL_NAMES = (ROOT_URL_NAME, "scim-not-found")


def references(value: Any) -> set[str]:
    """The bulkIds a value refers to."""
    if isinstance(value, str):
        return {value[len(PREFIX) :]} if value.startswith(PREFIX) else set()
    if isinstance(value, dict):
        return set().union(*(references(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(references(item) for item in value)) if value else set()
    return set()


def substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(PREFIX) and value[len(PREFIX) :] in ids:
        return ids[value[len(PREFIX) :]]
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    return value


def without(value: Any, unresolved: set[str]) -> Any:
    """``value`` without the parts that refer to ``unresolved`` bulkIds (to break a cycle)."""
    if isinstance(value, dict):
        if any(
            isinstance(item, str) and item.startswith(PREFIX) and item[len(PREFIX) :] in unresolved
            for item in value.values()
        ):
            return None
        return {key: without(item, unresolved) for key, item in value.items()}
    if isinstance(value, list):
        kept = [without(item, unresolved) for item in value]
        return [item for item in kept if item is not None]
    if isinstance(value, str) and value.startswith(PREFIX) and value[len(PREFIX) :] in unresolved:
        return None
    return value


class BulkView(SCIMViewMixin, APIView):
    """Run a BulkRequest and answer a BulkResponse; ``router`` is set by the SCIMRouter that serves it."""

    router: Any = None

    def get_scope_kind(self, request: Any) -> str:
        return "write"

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        operations, fail_on_errors = self.parse(request.data)
        root = request.path_info.rsplit("Bulk", 1)[0]  # what the URLconf resolves: without SCRIPT_NAME
        results: list[dict[str, Any] | None] = [None] * len(operations)
        ids: dict[str, str] = {}
        pending = list(range(len(operations)))
        replay: list[tuple[int, dict[str, Any]]] = []
        errors = 0

        def run(index: int, operation: dict[str, Any]) -> bool:
            nonlocal errors
            result = self.run_operation(request, root, operation, ids)
            if result["status"] == "503" and not any(r is not None and int(r["status"]) < 400 for r in results):
                # The database is out of reach and nothing was committed: the whole request can be retried.
                raise ServiceUnavailable("The service cannot reach its database. Try again later.")
            results[index] = result
            failed = int(result["status"]) >= 400
            errors += failed
            return not (fail_on_errors and errors >= fail_on_errors)

        while pending:
            progressed = False
            for index in list(pending):
                operation = operations[index]
                if references(operation) - set(ids):
                    continue
                pending.remove(index)
                progressed = True
                if not run(index, operation):
                    return self.respond(results)
            if progressed or not pending:
                continue
            # Nothing can run: the remaining operations reference each other (or unknown bulkIds).
            unresolved = {operations[i].get("bulkId") for i in pending}
            cycle = next((i for i in pending if operations[i]["method"] == "POST"), None)
            waiting_on_unknown = [i for i in pending if references(operations[i]) - set(ids) - unresolved]
            if cycle is None or waiting_on_unknown:
                for index in pending:
                    missing = ", ".join(sorted(references(operations[index]) - set(ids)))
                    results[index] = self.failure(operations[index], 409, f"Unresolved bulkId references: {missing}.")
                return self.respond(results)
            pending.remove(cycle)
            first = dict(operations[cycle], data=without(operations[cycle]["data"], unresolved))
            if not run(cycle, first):
                return self.respond(results)
            if int(results[cycle]["status"]) < 400:
                replay.append((cycle, operations[cycle]))

        for index, operation in replay:  # put back the references the cycle left out
            path = f"{operation['path'].rstrip('/')}/{ids[operation['bulkId']]}"
            replace = {"method": "PUT", "path": path, "data": operation["data"], "bulkId": operation["bulkId"]}
            outcome = self.run_operation(request, root, replace, ids)
            if int(outcome["status"]) >= 400:
                results[index] = {**outcome, "method": "POST"}
            elif outcome.get("version"):  # the version the resource has now, after the replace
                results[index]["version"] = outcome["version"]
        return self.respond(results)

    def parse(self, body: Any) -> tuple[list[dict[str, Any]], int | None]:
        if not isinstance(body, dict):
            raise InvalidSyntax("The request body must be a BulkRequest object.")
        schemas = body.get("schemas")
        if schemas is not None and (not isinstance(schemas, list) or BULK_REQUEST_SCHEMA not in schemas):
            raise InvalidSyntax(f"A BulkRequest's schemas must contain {BULK_REQUEST_SCHEMA!r}.")
        operations = body.get("Operations")
        if not isinstance(operations, list) or not operations:
            raise InvalidSyntax("A BulkRequest needs a non-empty list of Operations.")
        if len(operations) > scim_settings.BULK_MAX_OPERATIONS:
            raise PayloadTooLarge(
                f"The BulkRequest has {len(operations)} operations; the limit (maxOperations) is "
                f"{scim_settings.BULK_MAX_OPERATIONS}."
            )
        fail_on_errors = body.get("failOnErrors")
        if fail_on_errors is not None and (
            isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int) or fail_on_errors < 1
        ):
            raise InvalidValue("failOnErrors must be a positive integer.")
        seen: set[str] = set()
        for index, operation in enumerate(operations):
            if not isinstance(operation, dict):
                raise InvalidSyntax(f"Operations[{index}] must be an object.")
            method = str(operation.get("method", "")).upper()
            if method not in METHODS:
                raise InvalidSyntax(f"Operations[{index}]: method must be one of {', '.join(METHODS)}.")
            operation["method"] = method
            if not isinstance(operation.get("path"), str) or not operation["path"].startswith("/"):
                raise InvalidSyntax(f"Operations[{index}]: path must be a string starting with '/'.")
            bulk_id = operation.get("bulkId")
            if method == "POST" and not isinstance(bulk_id, str):
                raise InvalidSyntax(f"Operations[{index}]: a POST needs a bulkId.")
            if bulk_id is not None:
                if not isinstance(bulk_id, str) or bulk_id in seen:
                    raise InvalidSyntax(f"Operations[{index}]: bulkId must be a string unique in the request.")
                seen.add(bulk_id)
            if method != "DELETE" and not isinstance(operation.get("data"), dict):
                raise InvalidSyntax(f"Operations[{index}]: {method} needs data (an object).")
        return operations, fail_on_errors

    def run_operation(self, request: Any, root: str, operation: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
        """Dispatch one operation to its endpoint, as a request of its own; its result, even when it fails
        unexpectedly (the operations before it committed, and the client must learn their ids)."""
        try:
            return self.dispatch_operation(request, root, operation, ids)
        except Exception as exc:
            logger.error("Unhandled error in a bulk operation", exc_info=exc)
            return self.failure(operation, 500, "An unexpected error occurred.")

    def dispatch_operation(
        self, request: Any, root: str, operation: dict[str, Any], ids: dict[str, str]
    ) -> dict[str, Any]:
        path = substitute(operation["path"], ids)
        if not isinstance(path, str):
            path = operation["path"]
        for bulk_id, value in ids.items():
            path = path.replace(f"{PREFIX}{bulk_id}", value)
        full_path = root.rstrip("/") + path
        try:
            match = resolve(full_path)
        except Resolver404:
            return self.failure(operation, 404, f"There is no SCIM endpoint at {path}.")
        view_class = getattr(match.func, "cls", object)
        if match.url_name in NOT_FOUND_URL_NAMES:
            return self.failure(operation, 404, f"There is no SCIM endpoint at {path}.")
        if issubclass(view_class, BulkView):
            return self.failure(operation, 400, "A bulk operation cannot be a bulk request.", "invalidValue")
        action = (getattr(match.func, "actions", None) or {}).get(operation["method"].lower())
        if not issubclass(view_class, SCIMGenericViewSet) or action != RESOURCE_ACTIONS[operation["method"]]:
            return self.failure(
                operation,
                400,
                f"{path} is not a resource endpoint for {operation['method']}: a bulk operation creates (POST) "
                "at a resource type's endpoint, or replaces (PUT), modifies (PATCH) or deletes a resource.",
                "invalidValue",
            )
        body = b"" if operation["method"] == "DELETE" else json.dumps(substitute(operation["data"], ids)).encode()
        environ = {
            key: value
            for key, value in request.META.items()
            if key.startswith(("HTTP_", "SERVER_", "REMOTE_")) or key in ("wsgi.url_scheme",)
        }
        environ.update(
            {
                "REQUEST_METHOD": operation["method"],
                "PATH_INFO": full_path,
                "SCRIPT_NAME": request.META.get("SCRIPT_NAME", ""),
                "QUERY_STRING": "",
                "CONTENT_TYPE": "application/scim+json",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": BytesIO(body),
                "wsgi.url_scheme": request.scheme,
                "HTTP_X_REQUEST_ID": get_request_id(request),  # the operation's changes name the Bulk request
            }
        )
        environ.pop("HTTP_IF_MATCH", None)
        if operation.get("version"):
            environ["HTTP_IF_MATCH"] = str(operation["version"])
        sub_request = WSGIRequest(environ)
        sub_request.scim_bulk_operation = True  # counted as part of the Bulk request (drf_scim.activity)
        response = match.func(sub_request, *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
        result: dict[str, Any] = {"method": operation["method"], "status": str(response.status_code)}
        if operation.get("bulkId"):
            result["bulkId"] = operation["bulkId"]
        data = json.loads(response.content) if response.content else None
        if response.status_code >= 400:
            result["response"] = data
            return result
        if response.has_header("ETag"):
            result["version"] = response["ETag"]
        if response.has_header("Location"):
            result["location"] = response["Location"]
        elif isinstance(data, dict) and isinstance(data.get("meta"), dict) and data["meta"].get("location"):
            result["location"] = data["meta"]["location"]
        else:
            result["location"] = request.build_absolute_uri(request.META.get("SCRIPT_NAME", "") + full_path)
        if operation["method"] == "POST" and isinstance(data, dict) and isinstance(data.get("id"), str):
            ids[operation["bulkId"]] = data["id"]
        return result

    def failure(
        self, operation: dict[str, Any], status_code: int, detail: str, scim_type: str | None = None
    ) -> dict[str, Any]:
        result = {
            "method": operation["method"],
            "status": str(status_code),
            "response": error_body(status_code, detail, scim_type),
        }
        if operation.get("bulkId"):
            result["bulkId"] = operation["bulkId"]
        return result

    def respond(self, results: list[dict[str, Any] | None]) -> Response:
        return Response({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": [r for r in results if r is not None]})
