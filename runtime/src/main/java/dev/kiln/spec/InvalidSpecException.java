package dev.kiln.spec;

import dev.kiln.KilnException;
import dev.kiln.ProblemList;
import java.util.List;

/** A spec broke one or more of the rules in {@link SpecRules}; every problem is listed. */
public final class InvalidSpecException extends KilnException {
  private static final long serialVersionUID = 1L;
  private final transient List<SpecProblem> problems;

  public InvalidSpecException(List<SpecProblem> problems) {
    super(
        "invalid model spec:"
            + ProblemList.lines(problems.stream().map(SpecProblem::toString).toList()));
    this.problems = List.copyOf(problems);
  }

  public List<SpecProblem> problems() {
    return problems;
  }
}
