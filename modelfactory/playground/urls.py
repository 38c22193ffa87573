app_name = "playground"

urlpatterns: list = []
