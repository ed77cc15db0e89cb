from sample_site.urls import urlpatterns as sample_urlpatterns

urlpatterns = [*sample_urlpatterns]
