from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tracker.health import readyz

# The admin logs in through allauth's form, which asks for the second factor: Django's own
# admin log-in would skip it.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
    path("", include("tracker.urls")),
]

# A lost database connection anywhere in a request answers 503 with Retry-After, not 500.
handler400 = "tracker.db_blink.bad_request"
handler500 = "tracker.db_blink.server_error"
