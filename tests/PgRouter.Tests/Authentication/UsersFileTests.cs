using PgRouter.Authentication;
using Xunit;

namespace PgRouter.Tests.Authentication;

public class UsersFileTests
{
    private const string Scram = "SCRAM-SHA-256$4096:jJbJCU9Pq0i2u8uOS0+nOA==$FgwzphsTYEsOZlgoYFN2BOcYewNelB9XvkoigNKIShA=:6dE8FFqypABSeE2HS1haO2m9/hdv+M/ueMtt2kUOzZg=";

    [Fact]
    public void Parse_PgBouncerFormat_AllThreeKindsOfSecret()
    {
        var users = UsersFile.Parse(
        [
            $"\"app\" \"{Scram}\"",
            "\"legacy\" \"md56a422f785c9e20873908ce25d1736ae2\" extra fields are ignored",
            "  \"plain\"   \"s3cret\"",
            "; a comment",
            "# another",
            "",
            "\"quote\"\"d\" \"pa\"\"ss\"",
        ], out var problems);

        Assert.Empty(problems);
        Assert.NotNull(users["app"].Scram);
        Assert.Equal("md56a422f785c9e20873908ce25d1736ae2", users["legacy"].Md5);
        Assert.Equal("s3cret", users["plain"].Plain);
        Assert.Equal("pa\"ss", users["quote\"d"].Plain);
    }

    [Theory]
    [InlineData("app secret")]
    [InlineData("\"app\"")]
    [InlineData("\"app\" \"unterminated")]
    public void Parse_MalformedLine_IsSkippedWithoutEchoingIt(string line)
    {
        var users = UsersFile.Parse([line, "\"ok\" \"pw\""], out var problems);

        Assert.Equal(["ok"], users.Keys);
        Assert.Equal("line 1 is not \"user\" \"secret\"", Assert.Single(problems));
    }

    [Fact]
    public void Find_AfterTheFileChanges_SeesTheNewVersion()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "\"app\" \"one\"\n");
            var time = new Support.ManualTime();
            var file = new UsersFile(path, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<UsersFile>.Instance);
            file.Load();
            Assert.True(file.Find("app")!.Matches("app", "one"));

            File.WriteAllText(path, "\"app\" \"two\"\n\"report\" \"three\"\n");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
            time.Advance(TimeSpan.FromSeconds(2));

            Assert.True(file.Find("app")!.Matches("app", "two"));
            Assert.NotNull(file.Find("report"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class UserSecretTests
{
    [Theory]
    [InlineData("secret")]
    [InlineData("md56a422f785c9e20873908ce25d1736ae2")]
    public void Matches_ThePasswordBehindEachForm(string stored)
    {
        // md56a42… is md5("secret" + "app"), PostgreSQL's md5 form for that user and password.
        var secret = UserSecret.Parse("app", stored);

        Assert.True(secret.Matches("app", "secret"));
        Assert.False(secret.Matches("app", "Secret"));
    }

    [Fact]
    public void Matches_AgainstAScramSecret()
    {
        var secret = UserSecret.Parse("app", PgRouter.Protocol.Authentication.ScramSecret.FromPassword("secret").ToString());

        Assert.True(secret.Matches("app", "secret"));
        Assert.False(secret.Matches("app", "other"));
    }

    [Fact]
    public void ScramForVerification_FromPlainText_IsStablePerUser()
    {
        var secret = UserSecret.Parse("app", "secret");

        Assert.Equal(secret.ScramForVerification("app")!.ToString(), UserSecret.Parse("app", "secret").ScramForVerification("app")!.ToString());
        Assert.Null(UserSecret.Parse("app", "md56a422f785c9e20873908ce25d1736ae2").ScramForVerification("app"));
    }
}

public class LoginRateLimiterTests
{
    [Fact]
    public void Allows_UntilTheLimitThenAgainAfterTheWindow()
    {
        var time = new Support.ManualTime();
        var limiter = new LoginRateLimiter(3, TimeSpan.FromMinutes(1), time);

        for (int i = 0; i < 3; i++)
        {
            Assert.True(limiter.Allows("10.0.0.1", out _));
            limiter.RecordFailure("10.0.0.1");
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.False(limiter.Allows("10.0.0.1", out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(57), retryAfter);
        Assert.True(limiter.Allows("10.0.0.2", out _));

        time.Advance(TimeSpan.FromSeconds(58));
        Assert.True(limiter.Allows("10.0.0.1", out _));
    }

    [Fact]
    public void Allows_ZeroLimitMeansOff()
    {
        var limiter = new LoginRateLimiter(0, TimeSpan.FromMinutes(1), new Support.ManualTime());
        limiter.RecordFailure("10.0.0.1");

        Assert.True(limiter.Allows("10.0.0.1", out _));
    }
}

public class AuthPolicyTests
{
    [Fact]
    public void MethodFor_DatabaseBeatsListenerBeatsGlobal()
    {
        var policy = new AuthPolicy(AuthMethod.ScramSha256, new Dictionary<string, AuthMethod> { ["legacy"] = AuthMethod.Passthrough });

        Assert.Equal(AuthMethod.ScramSha256, policy.MethodFor(null, "app"));
        Assert.Equal(AuthMethod.Md5, policy.MethodFor(AuthMethod.Md5, "app"));
        Assert.Equal(AuthMethod.Passthrough, policy.MethodFor(AuthMethod.Md5, "legacy"));
    }
}
