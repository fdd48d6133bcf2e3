from django.urls import path

from calls import views

urlpatterns = [path("calls/", views.call_list_view, name="call-list")]
