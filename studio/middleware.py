"""Request guards and response headers Django 5.2 does not provide itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

# Pages use only our own scripts and styles (no inline code), images we serve
# ourselves and blob: previews of files picked for upload.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class TooManyFilesMiddleware:
    """Answer an upload with too many files with a message instead of a bare 400.

    Django refuses such a request while parsing it, which happens first in
    the CSRF check, before any view could explain the limit. Placed before
    CsrfViewMiddleware, this parses the form early and catches the refusal.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.FILES  # noqa: B018 - parse now, inside this try
            except TooManyFilesSent:
                context = {
                    "limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
                    "back": _back_link(request),
                }
                return render(request, "studio/too_many_files.html", context, status=400)
        return self.get_response(request)


def _back_link(request: HttpRequest) -> str:
    back = request.headers.get("referer", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return ""
    return back


class RequestBodyLimitMiddleware:
    """Refuse an oversized request body from its Content-Length, before anything reads it.

    Django would otherwise spool a multipart body of any size to disk while
    parsing it for the CSRF check. Anonymous callers only ever send small
    forms (log-in, guest comments), so their limit is far lower. Bodies
    without a Content-Length are never read by Django at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES:
            signed_in = request.user.is_authenticated
            limit = (
                settings.STUDIO_MAX_REQUEST_BYTES
                if signed_in
                else settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES
            )
            if length > limit:
                context = {"limit_mb": max(1, limit // (1024 * 1024)), "back": _back_link(request)}
                response = render(request, "studio/too_large.html", context, status=413)
                # The body was not read: the connection cannot carry another request.
                response["Connection"] = "close"
                return response
        return self.get_response(request)


class ErrorPageMiddleware:
    """The studio's own 404 and 403 pages, with debug on as with it off.

    With debug on Django answers a missing page with its list of every URL
    pattern and logs a traceback for each refusal; a person trying the
    studio should see the same pages as in production, and the log one line
    per refusal (Django writes "Forbidden: /path" for every 4xx answer).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A URL that matched no pattern never reached a view: debug's technical page.
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            return render(request, "404.html", status=404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if isinstance(exception, PermissionDenied):
            message = str(exception) if exception.args else ""
            return render(request, "403.html", {"exception": message}, status=403)
        return None
