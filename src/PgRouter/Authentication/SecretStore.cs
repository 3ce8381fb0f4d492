namespace PgRouter.Authentication;

/// <summary>Where users' secrets come from: the users file first, then the auth query, as in PgBouncer.</summary>
internal sealed class SecretStore(UsersFile? usersFile, AuthQuery? authQuery)
{
    public bool HasSource => usersFile is not null || authQuery is not null;

    public async ValueTask<SecretLookup> FindAsync(string cluster, string user, CancellationToken cancellationToken)
    {
        if (usersFile?.Find(user) is { } secret)
        {
            return SecretLookup.Found(secret);
        }
        return authQuery is null ? SecretLookup.Unknown : await authQuery.LookupAsync(cluster, user, cancellationToken).ConfigureAwait(false);
    }
}
