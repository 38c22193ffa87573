from django.urls import path

from modelfactory.playground import views

app_name = "playground"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("conversations/", views.sidebar, name="sidebar"),
    path("send/", views.send, name="send"),
    path("context/", views.context, name="context"),
    path("stream/<int:message_id>/", views.stream, name="stream"),
    path("stop/<int:message_id>/", views.stop, name="stop"),
    path("receipts/<uuid:receipt_id>/attribution/", views.attribution, name="attribution"),
]
