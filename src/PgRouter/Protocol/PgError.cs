namespace PgRouter.Protocol;

/// <summary>An error as PostgreSQL reports it: SQLSTATE, message and the optional detail and hint.</summary>
internal sealed record PgError(string SqlState, string Message, string? Detail = null, string? Hint = null)
{
    public override string ToString() => Detail is null ? $"{SqlState} {Message}" : $"{SqlState} {Message} ({Detail})";
}
