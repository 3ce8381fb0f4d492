namespace PgRouter.Pooling;

/// <summary>
/// Server connections are shared by clients that would have logged in the same way: same member,
/// database and server user. Session pools also match the client's startup parameters exactly.
/// </summary>
/// <param name="Database">The database name clients use (PgRouter:Databases may map it to another on the server).</param>
/// <param name="Parameters">Fingerprint of the startup parameters for session pools; 0 for transaction pools.</param>
internal readonly record struct PoolKey(string Cluster, string Member, string Database, string User, ulong Parameters)
{
    public override string ToString() => $"{Cluster}/{Member}/{Database}/{User}";
}
