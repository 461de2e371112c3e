package dev.kiln.server;

import static com.google.common.truth.Truth.assertThat;

import dev.kiln.generate.Message;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The chat page in a real browser: Debian's {@code chromium} and {@code chromium-driver} ({@code
 * apt-get install chromium chromium-driver}; {@code .ci/run} installs them). Skipped, saying so,
 * where they are not installed.
 */
@Tag("slow")
class ChatPageBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path DRIVER = Path.of("/usr/bin/chromedriver");

  @Test
  void chatPageStreamsAReplyFromTheApi() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
        "skipped: the browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium,"
            + " /usr/bin/chromedriver): apt-get install chromium chromium-driver");
    KilnModel solo = TestModels.open(TestModels.tiny(), 1);
    String expected =
        TestModels.reference(solo, List.of(Message.user("一丁七")), SamplerChain.greedy(), 8);
    try (KilnServer server =
        TestModels.serve(KilnServer.config().parallel(1).apiKey("page-key"), TestModels.tiny())) {
      ChromeOptions options = new ChromeOptions();
      options.setBinary(CHROMIUM.toFile());
      options.addArguments(
          "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu");
      ChromeDriverService service =
          new ChromeDriverService.Builder()
              .usingDriverExecutable(DRIVER.toFile())
              .usingAnyFreePort()
              .build();
      WebDriver browser = new ChromeDriver(service, options);
      try {
        browser.get("http://127.0.0.1:" + server.port() + "/");
        assertThat(browser.getTitle()).isEqualTo("Kiln chat");
        browser.findElement(By.id("key")).sendKeys("page-key");
        WebElement temperature = browser.findElement(By.id("temperature"));
        temperature.clear();
        temperature.sendKeys("0");
        WebElement max = browser.findElement(By.id("max"));
        max.clear();
        max.sendKeys("8");
        browser.findElement(By.id("input")).sendKeys("一丁七");
        browser.findElement(By.id("send")).click();
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        WebElement answer =
            wait.until(
                d ->
                    d.findElements(By.cssSelector(".msg[data-done='true']")).stream()
                        .findFirst()
                        .orElse(null));
        assertThat(answer.getAttribute("class")).contains("assistant");
        assertThat(answer.getText()).isEqualTo(expected.strip());
        assertThat(browser.findElement(By.cssSelector(".msg.user")).getText()).isEqualTo("一丁七");
      } finally {
        browser.quit();
      }
    }
  }
}
