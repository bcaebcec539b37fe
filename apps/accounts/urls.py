from django.urls import path

from apps.accounts import api

urlpatterns = [
    path("auth/me/", api.MeApi.as_view(), name="auth-me"),
    path("auth/login/", api.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", api.LogoutApi.as_view(), name="auth-logout"),
    path("auth/tokens/", api.ApiTokenListCreateApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>/", api.ApiTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("teams/", api.TeamCreateApi.as_view(), name="teams"),
    path("teams/<slug:slug>/members/", api.TeamMembersApi.as_view(), name="team-members"),
]
