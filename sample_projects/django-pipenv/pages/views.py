"""Two views: a greeting, and a health check that reports the versions the app runs with."""

import platform

import django
from django.db import connection
from django.http import HttpResponse, JsonResponse


def index(request):
    return HttpResponse("Hello from Django in Docker.\n", content_type="text/plain")


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        database_ok = cursor.fetchone() == (1,)
    return JsonResponse(
        {
            "python": platform.python_version(),
            "django": django.get_version(),
            "database": connection.vendor,
            "database_ok": database_ok,
        }
    )
