namespace PgRouter.Protocol;

/// <summary>The SQLSTATE codes PgRouter itself sends, named as in PostgreSQL's errcodes.txt.</summary>
internal static class SqlState
{
    public const string ProtocolViolation = "08P01";
    public const string ConnectionFailure = "08006";
    public const string SqlServerRejectedEstablishment = "08004";
    public const string AdminShutdown = "57P01";
    public const string CannotConnectNow = "57P03";
    public const string CrashShutdown = "57P02";
    public const string TooManyConnections = "53300";
    public const string ReadOnlySqlTransaction = "25006";
    public const string FeatureNotSupported = "0A000";
    public const string InvalidPassword = "28P01";
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidCatalogName = "3D000";
    public const string InvalidParameterValue = "22023";
    public const string UndefinedObject = "42704";
    public const string InternalError = "XX000";
    public const string ProgramLimitExceeded = "54000";
    public const string DuplicatePreparedStatement = "42P05";
}
