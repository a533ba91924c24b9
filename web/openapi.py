"""The OpenAPI 3.1 document of GridBot's HTTP APIs, served at ``/api/v1/openapi.json``.

It describes the JSON API (notices, tickets) and Open311 GeoReport v2; a test keeps it true:
every route of those blueprints is in it and every path in it is a route, and each example
request validates against its schema and is accepted by the running API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "输入有误（reason 说明原因）", 401: "缺少或无效的令牌", 403: "令牌没有所需权限",
             404: "没有这个资源", 409: "当前状态不允许", 429: "请求过于频繁（见 Retry-After）"}
    return {str(c): _json(_ref("Error"), texts[c]) for c in codes}


def _o311_errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json(_ref("Open311Errors"), "Open311 错误列表") for c in codes}


def _param(name: str, where: str, schema: dict[str, Any], description: str,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path",
            "schema": schema, "description": description}


TICKET_ID = _param("ticket_id", "path", {"type": "integer", "minimum": 1}, "工单号")
NOTICE_ID = _param("notice_id", "path", {"type": "integer", "minimum": 1}, "通知编号")
TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}
STATUSES = ["created", "dispatched", "accepted", "resolved", "closed", "returned", "withdrawn",
            "merged"]

ORDER_EXAMPLE = {
    "source": "12345", "external_id": "SH20261201-0042",
    "text": "小区门口的路灯坏了好几天，晚上很黑", "address": "东顺苑第一网格3号楼",
    "contact": {"name": "钱女士", "phone": "13600001234"},
}
EVENT_EXAMPLE = {"type": "补充", "text": "来电人补充：灯杆编号 DS-017", "event_id": "EV-1"}
NOTICE_EXAMPLE = {"title": "城乡居民医保缴费", "audience": {"grids": ["640323001"]},
                  "deadline": "2026-12-31", "reminders": [7, 3, 1]}
OPEN311_EXAMPLE = {"service_code": "facility", "description": "路灯不亮，晚上很黑",
                   "address_string": "东顺苑第一网格3号楼", "lat": 38.1, "long": 106.3,
                   "api_key": "gbt_…"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "reason"],
        "properties": {"error": {"type": "string", "description": "错误代码"},
                       "reason": {"type": "string", "description": "中文原因"}},
    },
    "Contact": {
        "type": "object", "additionalProperties": False,
        "description": "来电人联系方式：只在承办人的任务卡片上显示，任何接口都不返回",
        "properties": {"name": {"type": "string", "maxLength": 64},
                       "phone": {"type": "string", "maxLength": 32}},
    },
    "OrderRequest": {
        "type": "object", "additionalProperties": False, "required": ["external_id", "text"],
        "properties": {
            "source": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$",
                       "description": "来源系统（如 12345）；绑定来源的令牌可省略"},
            "external_id": {"type": "string", "minLength": 1, "maxLength": 128,
                            "description": "来源系统的工单号；(source, external_id) 唯一，重复提交返回同一工单"},
            "text": {"type": "string", "minLength": 1, "maxLength": 2000},
            "category": {"type": "string", "maxLength": 32,
                         "description": "分类代码（见 /open311/v2/services.json）；不填则自动分类"},
            "grid": {"type": "string", "maxLength": 64, "description": "网格统一编码"},
            "address": {"type": "string", "maxLength": 128,
                        "description": "地址文字；未给 grid 时按网格名称匹配"},
            "contact": _ref("Contact"),
            "urgent": {"type": "boolean"},
        },
    },
    "EventRequest": {
        "type": "object", "additionalProperties": False, "required": ["type"],
        "properties": {
            "type": {"enum": ["补充", "supplement", "撤销", "withdraw", "评价", "rate"]},
            "rating": {"enum": ["满意", "satisfied", "一般", "average", "不满意", "unsatisfied"],
                       "description": "评价时必填：来源系统回访的结果；不满意则重办并上报一级"},
            "text": {"type": "string", "maxLength": 2000,
                     "description": "补充的内容，或撤销的原因"},
            "event_id": {"type": "string", "minLength": 1, "maxLength": 128,
                         "description": "来源系统的事件编号；重复提交返回已记录的事件（200）"},
        },
    },
    "Ticket": {
        "type": "object",
        "required": ["id", "source", "external_id", "status", "status_label", "category",
                     "category_name", "tier", "urgent", "text", "address", "grid", "level",
                     "handler", "created_at", "updated_at", "deadlines", "resolved_at",
                     "closed_at", "rating", "duplicate_of"],
        "properties": {
            "id": {"type": "integer"}, "source": NULLABLE_STRING,
            "external_id": NULLABLE_STRING, "status": {"enum": STATUSES},
            "status_label": {"type": "string"}, "category": {"type": "string"},
            "category_name": {"type": "string"}, "tier": {"enum": ["easy", "general", "hard"]},
            "urgent": {"type": "boolean"}, "text": {"type": "string"},
            "address": NULLABLE_STRING,
            "grid": {"type": ["object", "null"],
                     "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
            "level": {"type": "string"}, "handler": NULLABLE_STRING,
            "created_at": TIME, "updated_at": TIME,
            "deadlines": {"type": "object", "properties": {
                "dispatch": TIME, "accept": TIME, "resolve": TIME,
                "provisional": {"type": "boolean"}}},
            "resolved_at": TIME, "closed_at": TIME, "rating": NULLABLE_STRING,
            "duplicate_of": {"type": ["integer", "null"]},
        },
    },
    "TrailEvent": {
        "type": "object", "required": ["id", "at", "action", "action_label", "note"],
        "properties": {"id": {"type": "integer"}, "at": TIME, "action": {"type": "string"},
                       "action_label": {"type": "string"}, "from_status": NULLABLE_STRING,
                       "to_status": NULLABLE_STRING, "note": {"type": "string"},
                       "actor": NULLABLE_STRING},
    },
    "TicketWithTrail": {"allOf": [_ref("Ticket"), {
        "type": "object", "required": ["trail"],
        "properties": {"trail": {"type": "array", "items": _ref("TrailEvent")}}}]},
    "TicketAnswer": {"type": "object", "required": ["ticket", "created"],
                     "properties": {"ticket": _ref("Ticket"), "created": {"type": "boolean"}}},
    "TicketList": {"type": "object", "required": ["tickets", "next_cursor"],
                   "properties": {"tickets": {"type": "array", "items": _ref("Ticket")},
                                  "next_cursor": {"type": ["integer", "null"]}}},
    "EventAnswer": {"type": "object", "required": ["ticket", "event"],
                    "properties": {"ticket": _ref("Ticket"), "event": _ref("TrailEvent")}},
    "NoticeRequest": {
        "type": "object", "required": ["title"],
        "properties": {
            "title": {"type": "string"}, "body": {"type": "string"},
            "audience": {"type": "object", "properties": {
                "grids": {"type": "array", "items": {"type": "string"}},
                "roles": {"type": "array", "items": {"type": "string"}}}},
            "schedule": {"type": "object", "properties": {
                "kind": {"enum": ["now", "once", "cron", "none"]},
                "at": {"type": "string"}, "cron": {"type": "string"},
                "text": {"type": "string"}}},
            "deadline": {"type": "string", "format": "date"},
            "reminders": {"type": "array", "items": {"type": "integer"}},
            "urgent": {"type": "boolean"},
        },
    },
    "Notice": {"type": "object", "required": ["id", "title", "status"],
               "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                              "status": {"type": "string"}}},
    "NoticeAnswer": {"type": "object", "required": ["notice", "plan"],
                     "properties": {"notice": _ref("Notice"), "plan": {"type": "object"}}},
    "NoticeList": {"type": "object", "required": ["notices"],
                   "properties": {"notices": {"type": "array", "items": _ref("Notice")}}},
    "NoticeCancelled": {"type": "object", "required": ["id", "status", "withdrawn"],
                        "properties": {"id": {"type": "integer"}, "status": {"type": "string"},
                                       "withdrawn": {"type": "integer"}}},
    "Open311Service": {
        "type": "object",
        "required": ["service_code", "service_name", "description", "metadata", "type",
                     "keywords", "group"],
        "properties": {"service_code": {"type": "string"}, "service_name": {"type": "string"},
                       "description": {"type": "string"}, "metadata": {"type": "boolean"},
                       "type": {"enum": ["realtime", "batch", "blackbox"]},
                       "keywords": {"type": "string"}, "group": {"type": "string"}},
    },
    "Open311Request": {
        "type": "object", "additionalProperties": False,
        "required": ["service_request_id", "status", "status_notes", "service_name",
                     "service_code", "description", "agency_responsible", "service_notice",
                     "requested_datetime", "updated_datetime", "expected_datetime", "address",
                     "address_id", "zipcode", "lat", "long", "media_url"],
        "properties": {
            "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
            "status_notes": NULLABLE_STRING, "service_name": {"type": "string"},
            "service_code": {"type": "string"}, "description": NULLABLE_STRING,
            "agency_responsible": NULLABLE_STRING, "service_notice": NULLABLE_STRING,
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": TIME, "expected_datetime": TIME, "address": NULLABLE_STRING,
            "address_id": NULLABLE_STRING, "zipcode": NULLABLE_STRING,
            "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]},
            "media_url": NULLABLE_STRING,
        },
    },
    "Open311NewRequest": {
        "type": "object", "required": ["service_code", "description"],
        "description": "form-encoded（或 JSON）；位置：lat+long、address_string 或 address_id 三选一",
        "properties": {
            "api_key": {"type": "string"}, "jurisdiction_id": {"type": "string"},
            "service_code": {"type": "string"}, "description": {"type": "string"},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "address_string": {"type": "string"}, "address_id": {"type": "string"},
            "email": {"type": "string"}, "device_id": {"type": "string"},
            "account_id": {"type": "string"}, "first_name": {"type": "string"},
            "last_name": {"type": "string"}, "phone": {"type": "string"},
            "media_url": {"type": "string"},
        },
    },
    "Open311Created": {"type": "array", "items": {
        "type": "object", "required": ["service_request_id", "service_notice", "account_id"],
        "properties": {"service_request_id": {"type": "string"},
                       "service_notice": {"type": "string"},
                       "account_id": {"type": ["string", "null"]}}}},
    "Open311Errors": {"type": "array", "items": {
        "type": "object", "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}},
}

_KEY = _param("api_key", "query", {"type": "string"}, "令牌（也可用 Authorization: Bearer）")
_JURISDICTION = _param("jurisdiction_id", "query", {"type": "string"}, "乡镇或县的网格编码")


def _op(summary: str, responses: dict[str, Any], *, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, security: bool = True,
        tags: tuple[str, ...] = ()) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": responses, "tags": list(tags)}
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    if not security:
        operation["security"] = []
    return operation


def _body(name: str, example: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": _ref(name), "example": example}}}


PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": _op("本文档", {"200": {"description": "OpenAPI 文档"}},
                                        security=False, tags=("docs",))},
    "/api/v1/tickets": {
        "post": _op("提交外部工单（tickets:write）", {
            "201": _json(_ref("TicketAnswer"), "新建并已派单"),
            "200": _json(_ref("TicketAnswer"), "重复提交：返回已有工单"),
            **_errors(400, 401, 403, 429)}, body=_body("OrderRequest", ORDER_EXAMPLE),
            tags=("tickets",)),
        "get": _op("工单列表（tickets:read）", {
            "200": _json(_ref("TicketList"), "按工单号升序"), **_errors(400, 401, 403, 429)},
            params=[
                _param("status", "query", {"type": "string"}, "状态，逗号分隔"),
                _param("grid", "query", {"type": "string"}, "网格编码（含下级）"),
                _param("source", "query", {"type": "string"}, "来源；chat 为居民上报"),
                _param("updated_since", "query", {"type": "string", "format": "date-time"},
                       "此时间之后有变化的工单"),
                _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100},
                       "每页条数（默认 50）"),
                _param("cursor", "query", {"type": "integer", "minimum": 0},
                       "上一页的 next_cursor"),
            ], tags=("tickets",)),
    },
    "/api/v1/tickets/{ticket_id}": {
        "get": _op("工单详情与流转记录（tickets:read）", {
            "200": _json({"type": "object", "required": ["ticket"],
                          "properties": {"ticket": _ref("TicketWithTrail")}}, "工单"),
            **_errors(401, 403, 404, 429)}, params=[TICKET_ID], tags=("tickets",)),
    },
    "/api/v1/tickets/{ticket_id}/events": {
        "post": _op("来源系统补充、撤销或评价（tickets:write）", {
            "201": _json(_ref("EventAnswer"), "已记录并通知承办人"),
            "200": _json(_ref("EventAnswer"), "同一 event_id 的重复提交"),
            **_errors(400, 401, 403, 404, 409, 429)},
            body=_body("EventRequest", EVENT_EXAMPLE), params=[TICKET_ID], tags=("tickets",)),
    },
    "/api/v1/notices": {
        "post": _op("新建通知（notices:write）", {
            "201": _json(_ref("NoticeAnswer"), "通知与发送计划"), **_errors(400, 401, 403, 429)},
            body=_body("NoticeRequest", NOTICE_EXAMPLE), tags=("notices",)),
        "get": _op("通知列表（notices:write）", {
            "200": _json(_ref("NoticeList"), "通知"), **_errors(401, 403, 429)},
            params=[_param("all", "query", {"enum": ["1"]}, "含已结束和已取消的")],
            tags=("notices",)),
    },
    "/api/v1/notices/{notice_id}": {
        "get": _op("通知及送达情况（notices:write）", {
            "200": _json(_ref("Notice"), "通知"), **_errors(401, 403, 404, 429)},
            params=[NOTICE_ID], tags=("notices",)),
        "delete": _op("取消通知（notices:write）", {
            "200": _json(_ref("NoticeCancelled"), "已取消"), **_errors(401, 403, 404, 429)},
            params=[NOTICE_ID], tags=("notices",)),
    },
    "/api/v1/notices/{notice_id}/cancel": {
        "post": _op("取消通知（notices:write）", {
            "200": _json(_ref("NoticeCancelled"), "已取消"), **_errors(401, 403, 404, 429)},
            params=[NOTICE_ID], tags=("notices",)),
    },
    "/open311/v2/services.json": {
        "get": _op("服务（即分类）列表", {
            "200": _json({"type": "array", "items": _ref("Open311Service")}, "分类"),
            **_o311_errors(404)}, params=[_JURISDICTION], security=False, tags=("open311",)),
    },
    "/open311/v2/requests.json": {
        "get": _op("诉求列表（tickets:read）", {
            "200": _json({"type": "array", "items": _ref("Open311Request")}, "最近 90 天，最多 1000 条"),
            **_o311_errors(400, 401, 403, 404, 429)}, params=[
                _KEY, _JURISDICTION,
                _param("service_request_id", "query", {"type": "string"}, "逗号分隔"),
                _param("service_code", "query", {"type": "string"}, "逗号分隔"),
                _param("start_date", "query", {"type": "string", "format": "date-time"}, "起"),
                _param("end_date", "query", {"type": "string", "format": "date-time"}, "止"),
                _param("status", "query", {"enum": ["open", "closed"]}, "open 或 closed"),
            ], security=False, tags=("open311",)),
        "post": _op("提交诉求（tickets:write）", {
            "201": _json(_ref("Open311Created"), "已受理"),
            "200": _json(_ref("Open311Created"), "同一 Idempotency-Key 的重复提交"),
            **_o311_errors(400, 401, 403, 404, 429)},
            body=_body("Open311NewRequest", OPEN311_EXAMPLE,
                       "application/x-www-form-urlencoded"),
            params=[_param("Idempotency-Key", "header", {"type": "string"},
                           "可选：同一键的重复提交返回同一诉求")],
            security=False, tags=("open311",)),
    },
    "/open311/v2/requests/{service_request_id}.json": {
        "get": _op("一条诉求（tickets:read）", {
            "200": _json({"type": "array", "items": _ref("Open311Request")}, "一条"),
            **_o311_errors(401, 403, 404, 429)}, params=[
                _param("service_request_id", "path", {"type": "string"}, "诉求编号（工单号）"),
                _KEY, _JURISDICTION], security=False, tags=("open311",)),
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "GridBot 网格通 API", "version": VERSION,
                 "description": "外部系统工单（12345 等）、工单查询与回写、通知，以及 Open311 "
                                "GeoReport v2。错误均带中文原因。"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "bot.py api-token add 生成的令牌"}},
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
