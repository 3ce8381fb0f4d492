namespace PgRouter.Pooling;

/// <summary>
/// A client's prepared statement as PgRouter keeps it: the name it has on every server (the same
/// query gets the same name, so clients share it), what it takes to prepare it again on a server
/// that lacks it, and the shape of its result when the client prepared it.
/// </summary>
internal sealed class PreparedStatement(string clientName, string serverName, byte[] query, byte[] parameterTypes)
{
    public string ClientName => clientName;

    /// <summary>"pgr_" and a hash of query and parameter types; empty for the unnamed statement.</summary>
    public string ServerName => serverName;

    public byte[] Query => query;

    public byte[] ParameterTypes => parameterTypes;

    /// <summary>Its result's <see cref="StatementShape"/> as first parsed; Unknown until a server said.</summary>
    public int Shape { get; set; }

    /// <summary>
    /// Its result changed shape since the client prepared it (DDL): every Bind fails with 0A000 until
    /// the client prepares it again, as on PostgreSQL.
    /// </summary>
    public bool Stale { get; set; }
}
