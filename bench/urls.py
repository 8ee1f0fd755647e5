from django.urls import path

from bench.views import baseline
from helpdesk.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/baseline/", baseline, name="bench-baseline"), *app_urlpatterns]
