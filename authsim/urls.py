from django.urls import path

from authsim import views

app_name = "authsim"

urlpatterns = [
    path("devices/", views.device_list, name="device-list"),
    path("devices/<int:device_id>/", views.device_detail, name="device-detail"),
    path("devices/<int:device_id>/pushes/<int:push_id>/", views.device_push, name="device-push"),
    path("devices/<int:device_id>/actions/", views.device_action, name="device-action"),
    path("devices/<int:device_id>/sign-in/", views.device_sign_in, name="device-sign-in"),
]
