using System.Collections.Frozen;

namespace PgRouter.Authentication;

/// <summary>Which method checks a client: the database entry's, else the listener's, else the global one.</summary>
internal sealed class AuthPolicy(AuthMethod global, IReadOnlyDictionary<string, AuthMethod> byDatabase)
{
    private readonly FrozenDictionary<string, AuthMethod> _byDatabase = byDatabase.ToFrozenDictionary();

    /// <param name="database">The name the client asked for (a "*" entry covers the rest).</param>
    public AuthMethod MethodFor(AuthMethod? listener, string database) =>
        _byDatabase.TryGetValue(database, out var method) || _byDatabase.TryGetValue("*", out method)
            ? method
            : listener ?? global;
}
