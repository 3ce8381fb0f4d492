using PgRouter.Routing;
using Xunit;

namespace PgRouter.Tests.Routing;

public class StartupOptionsTests
{
    [Theory]
    [InlineData("-c pgrouter.target=replica", null)]
    [InlineData("-cpgrouter.target=replica", null)]
    [InlineData("--pgrouter.target=replica", null)]
    [InlineData("-c search_path=app -c pgrouter.target=replica", "-c search_path=app")]
    [InlineData("-c pgrouter.target=replica  -c statement_timeout=5s", "-c statement_timeout=5s")]
    [InlineData("-c application_name=my\\ app -c pgrouter.target=replica", "-c application_name=my\\ app")]
    public void Extract_TakesOutPgRouterSettingsAndKeepsTheRest(string options, string? remaining)
    {
        var (rest, own) = StartupOptions.Extract(options);

        Assert.Equal(remaining, rest);
        Assert.Equal("replica", own["target"]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-c search_path=app\\,public")]
    public void Extract_WithoutPgRouterSettings_LeavesOptionsUntouched(string? options)
    {
        var (rest, own) = StartupOptions.Extract(options);

        Assert.Equal(options, rest);
        Assert.Empty(own);
    }

    [Fact]
    public void Extract_SettingNamesAreCaseInsensitive()
    {
        Assert.Equal("any", StartupOptions.Extract("-c PgRouter.Target=any").Own["target"]);
    }
}
