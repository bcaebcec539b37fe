from django.contrib import admin

from apps.accounts.models import ApiToken, Membership, Team

admin.site.register(Team)
admin.site.register(Membership)
admin.site.register(ApiToken)
