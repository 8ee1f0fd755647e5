from django.contrib import admin
from django.urls import include, path

from helpdesk.views import auth, home

helpdesk_patterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.login_verify, name="login-verify"),
    path("login/enroll/", auth.login_enroll, name="login-enroll"),
    path("logout/", auth.logout_view, name="logout"),
]

urlpatterns = [
    path("", include((helpdesk_patterns, "helpdesk"))),
    path("healthz", home.healthz, name="healthz"),
    path("directory/", include("enrollment.urls")),
    path("sim/", include("authsim.urls")),
    path("guide/", include("troubleshooting.urls")),
    path("admin/", admin.site.urls),
]
